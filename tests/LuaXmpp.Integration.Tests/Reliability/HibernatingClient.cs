using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// The cheapest way to leave a hibernating session behind on the server: it registers an
/// account (XEP-0077), then in one pipelined write authenticates with PLAIN, binds, sends
/// initial presence and enables resumable stream management (XEP-0198 §5); once &lt;enabled/&gt; arrives the TCP
/// connection is reset, as a phone losing its network does. Nothing is parsed as XML: the test
/// only needs the resumption id, so a hundred thousand of these stay cheap on the test side.
/// </summary>
/// <remarks>
/// The reset (SO_LINGER 0) leaves no TIME_WAIT on either side, so a hundred thousand
/// connections from 127.0.0.1 reuse the ~28 000 ephemeral ports instead of exhausting them.
/// Presence goes before &lt;enable/&gt;, so its echo arrives before &lt;enabled/&gt; and the
/// session hibernates with nothing unacknowledged (h = 0), like an idle client.
/// </remarks>
public static partial class HibernatingClient
{
    public const string Sm3 = "urn:xmpp:sm:3";

    /// <summary>Logs in as above and cuts the connection; returns the resumption id.</summary>
    /// <param name="max">The hibernation time to ask for (XEP-0198 §5 'max'), or null for the server's.</param>
    public static async Task<string> LeaveHibernatingAsync(int port, string host, string user, string password, int? max, bool register = true)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var header = XmppSocketClient.Header(host);
        var received = new StringBuilder();
        var buffer = new byte[8192];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (register)
        {
            // Registration is answered before anything else is sent: the server does not hold
            // back pipelined input while a native handler waits for storage, so an <auth/>
            // right behind it could be checked before the account exists.
            await socket.SendAsync(Encoding.UTF8.GetBytes(header +
                $"<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>{user}</username><password>{password}</password></query></iq>"));
            await ReadUntilAsync(socket, received, buffer, user, "id='reg'", deadline.Token);
            if (!received.ToString().Contains("type='result'", StringComparison.Ordinal))
                throw new XunitException($"{user}: registration failed; received:\n{received}");
            header = "";
        }

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        var script = new StringBuilder(header)
            .Append($"<auth xmlns='{XmppSocketClient.SaslNs}' mechanism='PLAIN'>{credentials}</auth>")
            .Append(XmppSocketClient.Header(host))
            .Append("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>")
            .Append("<presence/>")
            .Append($"<enable xmlns='{Sm3}' resume='true'{(max is { } m ? $" max='{m}'" : "")}/>");
        await socket.SendAsync(Encoding.UTF8.GetBytes(script.ToString()));
        var text = await ReadUntilAsync(socket, received, buffer, user, "<enabled ", deadline.Token);
        var enabled = Enabled().Match(text);
        if (!enabled.Success) throw new XunitException($"{user}: no resumption id; received:\n{text}");
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
        return enabled.Groups[1].Value;
    }

    private static async Task<string> ReadUntilAsync(Socket socket, StringBuilder received, byte[] buffer, string user, string marker, CancellationToken cancellation)
    {
        while (true)
        {
            var text = received.ToString();
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0 && text.IndexOf('>', at) > 0) return text;
            if (text.Contains("<failure", StringComparison.Ordinal) || text.Contains("<failed", StringComparison.Ordinal)
                || text.Contains("type='error'", StringComparison.Ordinal) || text.Contains("<stream:error", StringComparison.Ordinal))
            {
                throw new XunitException($"{user}: login failed; received:\n{text}");
            }

            int count;
            try
            {
                count = await socket.ReceiveAsync(buffer, cancellation);
            }
            catch (OperationCanceledException)
            {
                throw new XunitException($"{user}: waiting for {marker} timed out; received:\n{text}");
            }

            if (count == 0) throw new XunitException($"{user}: the server closed the connection; received:\n{text}");
            received.Append(Encoding.UTF8.GetString(buffer, 0, count));
        }
    }

    [GeneratedRegex("<enabled [^>]*\\bid='([^']+)'")]
    private static partial Regex Enabled();
}
