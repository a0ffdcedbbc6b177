using System.Net.Sockets;
using System.Text;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// A bare c2s client over plain TCP (the bench server allows PLAIN without TLS): logs in, sends
/// raw XML, and waits for a marker in what it received. Enough for timing, not a parser.
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _buffer = new();
    private readonly byte[] _read = new byte[65536];
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly char[] _chars = new char[65536];

    private RawClient(TcpClient tcp)
    {
        _tcp = tcp;
        _tcp.NoDelay = true;
        _stream = tcp.GetStream();
    }

    public static async Task<RawClient> LoginAsync(int port, string user, string password, string resource)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var c = new RawClient(tcp);
        await c.SendAsync(Header);
        await c.WaitForAsync("</stream:features>");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await c.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>");
        await c.WaitForAsync("<success");
        await c.SendAsync(Header);
        await c.WaitForAsync("</stream:features>");
        await c.SendAsync($"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>");
        await c.WaitForAsync("</iq>");
        return c;
    }

    private const string Header = "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

    public Task SendAsync(string xml) => _stream.WriteAsync(Encoding.UTF8.GetBytes(xml)).AsTask();

    /// <summary>Reads until <paramref name="marker"/> arrives; returns everything up to and including it and keeps the rest.</summary>
    public async Task<string> WaitForAsync(string marker)
    {
        int searchFrom = 0;
        while (true)
        {
            var text = _buffer.ToString();
            int at = text.IndexOf(marker, searchFrom, StringComparison.Ordinal);
            if (at >= 0)
            {
                int end = at + marker.Length;
                _buffer.Remove(0, end);
                return text[..end];
            }
            searchFrom = Math.Max(0, text.Length - marker.Length);
            int n = await _stream.ReadAsync(_read);
            if (n == 0) throw new IOException("server closed the connection; had: " + text[^Math.Min(400, text.Length)..]);
            int chars = _decoder.GetChars(_read, 0, n, _chars, 0);
            _buffer.Append(_chars, 0, chars);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync("</stream:stream>");
        }
        catch (IOException)
        {
        }
        _tcp.Dispose();
    }
}
