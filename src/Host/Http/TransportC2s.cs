using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Sessions;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Runs a c2s connection over an HTTP transport's stream (a WebSocket, a BOSH session), admitted
/// by the same <see cref="ConnectionLimits"/> as the c2s listeners' sockets: a login in progress
/// over WebSocket or BOSH counts against <c>max_unauthenticated_per_ip</c> like one over TCP.
/// A refused one gets what a refused stream gets: a policy-violation stream error, then the end
/// (a BOSH client sees it in a terminate body with remote-stream-error).
/// </summary>
public sealed class TransportC2s(ConnectionLimits? limits, Func<Stream, string, bool, ClientConnection> create, Func<ClientConnection, IStreamHandler> handler)
{
    private const string Refusal =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        + "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        + "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Too many connections from your address</text></stream:error></stream:stream>";

    private readonly RefusalLog _refusals = new(Logger.For("c2s"), "HTTP transport session");

    public async Task RunAsync(Stream stream, string ip, bool secure)
    {
        if (limits?.TryAdmit(ip) is { } limit)
        {
            _refusals.Refused(ip, limit);
            await using (stream)
            {
                await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(Refusal));
                await stream.FlushAsync();
            }
            return;
        }
        var connection = create(stream, ip, secure);
        try
        {
            await connection.RunAsync(handler);
        }
        finally
        {
            limits?.Released(ip, connection.IsAuthenticated);
        }
    }
}
