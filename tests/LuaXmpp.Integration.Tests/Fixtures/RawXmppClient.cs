using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// A byte-level XMPP client for stream-error tests: it sends exactly what a test says
/// (including malformed XML) and keeps everything the server answered.
/// </summary>
public sealed class RawXmppClient : IAsyncDisposable
{
    public const string StreamsNs = "http://etherx.jabber.org/streams";
    public const string TlsNs = "urn:ietf:params:xml:ns:xmpp-tls";
    public const string SaslNs = "urn:ietf:params:xml:ns:xmpp-sasl";
    public const string BindNs = "urn:ietf:params:xml:ns:xmpp-bind";

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private readonly MemoryStream _received = new();
    private Stream _stream;
    private int _consumed;

    private RawXmppClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Whether the server closed its side (a read returned 0 bytes).</summary>
    public bool ClosedByServer { get; private set; }

    /// <summary>Everything received since the last stream (re)start, as text.</summary>
    public string Received => Encoding.UTF8.GetString(_received.GetBuffer(), 0, (int)_received.Length);

    public static async Task<RawXmppClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new RawXmppClient(tcp);
    }

    public static string StreamHeader(string to, string streamNs = StreamsNs, string contentNs = "jabber:client", string? from = null) =>
        $"<?xml version='1.0'?><stream:stream to='{to}'{(from is null ? "" : $" from='{from}'")} version='1.0' xml:lang='en' xmlns='{contentNs}' xmlns:stream='{streamNs}'>";

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
        }
        catch (IOException)
        {
            // The server may already have closed on earlier bytes; what it said is in Received.
        }
    }

    /// <summary>Reads until <paramref name="done"/> holds for the text received since the
    /// last restart, or fails with the transcript after the timeout or on close.</summary>
    public async Task<string> ReadUntilAsync(Func<string, bool> done, string what, TimeSpan? timeout = null)
    {
        if (!await TryReadUntilAsync(done, timeout))
        {
            throw new XunitException($"waiting for {what}: {(ClosedByServer ? "server closed the connection" : "timed out")}; received:\n{Received}");
        }

        return Received.Substring(_consumed);
    }

    /// <summary>Like <see cref="ReadUntilAsync"/> but reports a miss as false.</summary>
    public async Task<bool> TryReadUntilAsync(Func<string, bool> done, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? ReadTimeout);
        while (!done(Received.Substring(_consumed)))
        {
            if (ClosedByServer || !await ReadChunkAsync(deadline.Token))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads until the server closes the connection; false if it stays open past the timeout.</summary>
    public async Task<bool> ReadToEndAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? ReadTimeout);
        while (!ClosedByServer)
        {
            if (!await ReadChunkAsync(deadline.Token))
            {
                return ClosedByServer;
            }
        }

        return true;
    }

    private async Task<bool> ReadChunkAsync(CancellationToken cancellation)
    {
        var buffer = new byte[8192];
        try
        {
            var count = await _stream.ReadAsync(buffer, cancellation);
            if (count == 0)
            {
                ClosedByServer = true;
                return false;
            }

            _received.Write(buffer, 0, count);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            // A reset after the server's last bytes still counts as closed.
            ClosedByServer = true;
            return false;
        }
    }

    /// <summary>Opens a stream and returns the first features element (RFC 6120 §4.3.2).</summary>
    /// <param name="from">The 'from' a client may name itself with (RFC 6120 §4.7.1; XEP-0484 offers FAST on it).</param>
    public async Task<XElement> OpenStreamAsync(string to, string? from = null)
    {
        _consumed = (int)_received.Length;
        await SendAsync(StreamHeader(to, from: from));
        await ReadUntilAsync(t => t.Contains("</stream:features>") || t.Contains("<stream:features/>"), "stream features");
        return StreamTranscript.Parse(Received.Substring(_consumed)).Features
            ?? throw new XunitException($"no parsable features in:\n{Received}");
    }

    /// <summary>STARTTLS (RFC 6120 §5.4) accepting the server's self-signed certificate.</summary>
    public async Task StartTlsAsync(string host)
    {
        var mark = (int)_received.Length;
        await SendAsync($"<starttls xmlns='{TlsNs}'/>");
        await ReadUntilAsync(t => t.Contains("proceed"), "<proceed/>");
        if (!Received.Substring(mark).Contains("<proceed"))
        {
            throw new XunitException($"STARTTLS refused: {Received.Substring(mark)}");
        }

        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(host);
        _stream = tls;
    }

    /// <summary>The full happy path: STARTTLS, SASL PLAIN (RFC 4616), bind. Returns the bound JID.</summary>
    public async Task<string> LoginAsync(string host, string user, string password)
    {
        var features = await OpenStreamAsync(host);
        if (features.Element(XName.Get("starttls", TlsNs)) is not null)
        {
            await StartTlsAsync(host);
            features = await OpenStreamAsync(host);
        }

        var mechanisms = features.Descendants(XName.Get("mechanism", SaslNs)).Select(m => m.Value).ToList();
        if (!mechanisms.Contains("PLAIN"))
        {
            throw new XunitException($"PLAIN not offered after TLS: {features}");
        }

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        var mark = (int)_received.Length;
        await SendAsync($"<auth xmlns='{SaslNs}' mechanism='PLAIN'>{credentials}</auth>");
        var answer = await ReadUntilAsync(t => t.Contains("success") || t.Contains("failure"), "SASL outcome");
        if (!Received.Substring(mark).Contains("<success"))
        {
            throw new XunitException($"SASL PLAIN failed: {answer}");
        }

        await OpenStreamAsync(host);
        await SendAsync($"<iq type='set' id='bind1'><bind xmlns='{BindNs}'><resource>raw</resource></bind></iq>");
        var bound = await ReadUntilAsync(t => t.Contains("</iq>"), "bind result");
        var jid = StreamTranscript.Parse(bound).Elements
            .Where(e => e.Name.LocalName == "iq" && (string?)e.Attribute("id") == "bind1")
            .Select(e => e.Descendants(XName.Get("jid", BindNs)).FirstOrDefault()?.Value)
            .FirstOrDefault();
        return jid ?? throw new XunitException($"bind failed: {bound}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
