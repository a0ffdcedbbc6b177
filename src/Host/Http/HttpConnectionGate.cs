using System.Net;
using LuaXmpp.Logging;
using LuaXmpp.Network;
using Microsoft.AspNetCore.Connections;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Admission for the HTTP listener's connections, with the c2s listeners' <see cref="ConnectionLimits"/>:
/// at most <c>http_max_connections_per_ip</c> connections from one address (a WebSocket session
/// is one), none beyond what the open-files limit leaves. A refused plain-HTTP connection is told
/// why (503, Connection: close) before it is closed; TLS ones are closed at once.
/// </summary>
internal sealed class HttpConnectionGate(int maxPerIp, Logger log)
{
    private static readonly byte[] Busy =
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n\r\nToo many connections from you.\r\n"u8.ToArray();

    // How long a refused connection's input is still read, so that the 503 is not lost to a reset.
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(1);

    private readonly ConnectionLimits _limits = new() { MaxConnectionsPerIp = maxPerIp, MaxUnauthenticatedPerIp = 0, MaxUnauthenticated = 0 };
    private readonly RefusalLog _refusals = new(log, "HTTP connection");

    public Func<ConnectionDelegate, ConnectionDelegate> For(bool plain) => next => async connection =>
    {
        var ip = IpOf(connection.RemoteEndPoint);
        if (_limits.TryAdmit(ip) is { } limit)
        {
            _refusals.Refused(ip, limit);
            if (plain) await RefuseAsync(connection);
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            _limits.Released(ip, wasAuthenticated: false);
        }
    };

    private static async Task RefuseAsync(ConnectionContext connection)
    {
        using var drain = new CancellationTokenSource(DrainTime);
        try
        {
            await connection.Transport.Output.WriteAsync(Busy, drain.Token);
            await connection.Transport.Output.CompleteAsync();
            var input = connection.Transport.Input;
            long read = 0;
            while (read < 64 * 1024)
            {
                var result = await input.ReadAsync(drain.Token);
                read += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
        {
        }
    }

    private static string IpOf(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint ip) return "?";
        return (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString();
    }
}
