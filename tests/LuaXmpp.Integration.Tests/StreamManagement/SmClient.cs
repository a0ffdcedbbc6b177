using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.StreamManagement;

/// <summary>
/// A raw XEP-0198 client over direct TLS: logs in (optionally without binding, for
/// &lt;resume/&gt;), sends exactly what a test says, and hands out the server's top-level
/// elements one by one. It counts the stanzas it received, which is the h it would ack.
/// </summary>
public sealed class SmClient : IAsyncDisposable
{
    public const string Sm3 = "urn:xmpp:sm:3";
    public const string Client = "jabber:client";
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a wait may take before it fails (longer under load).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    private readonly TcpClient _tcp;
    private readonly SslStream _tls;
    private readonly StringBuilder _stream = new();
    private readonly byte[] _buffer = new byte[16384];
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly char[] _chars = new char[16384];
    private int _parsedUpTo = -1;
    private IReadOnlyList<XElement> _elements = [];
    private int _cursor;

    private SmClient(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    public bool ClosedByServer { get; private set; }

    /// <summary>Everything received on the current stream.</summary>
    public string Transcript => _stream.ToString();

    public string? Jid { get; private set; }

    /// <summary>The features of the current stream.</summary>
    public XElement? Features { get; private set; }

    public static async Task<SmClient> ConnectAsync(ServerProcess server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.DirectTlsPort);
        var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(server.Host);
        return new SmClient(tcp, tls);
    }

    /// <summary>Connects, authenticates with PLAIN and, unless <paramref name="resource"/> is null, binds it.</summary>
    public static async Task<SmClient> LoginAsync(ServerProcess server, string user, string password, string? resource, TimeSpan? timeout = null)
    {
        var client = await ConnectAsync(server);
        client.Timeout = timeout ?? DefaultTimeout;
        await client.OpenStreamAsync(server.Host);
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await client.SendAsync($"<auth xmlns='{RawXmppClient.SaslNs}' mechanism='PLAIN'>{credentials}</auth>");
        var outcome = await client.NextAsync(e => e.Name.NamespaceName == RawXmppClient.SaslNs, "SASL outcome");
        if (outcome.Name.LocalName != "success") throw new XunitException("SASL failed: " + outcome);
        await client.OpenStreamAsync(server.Host);
        if (resource is not null)
        {
            await client.SendAsync($"<iq type='set' id='bind'><bind xmlns='{RawXmppClient.BindNs}'><resource>{resource}</resource></bind></iq>");
            var bound = await client.NextAsync(e => (string?)e.Attribute("id") == "bind", "bind result");
            client.Jid = bound.Descendants(XName.Get("jid", RawXmppClient.BindNs)).FirstOrDefault()?.Value
                ?? throw new XunitException("bind failed: " + bound);
        }
        return client;
    }

    /// <summary>XEP-0077 in-band registration on a fresh connection (fast enough for load tests).</summary>
    public static async Task RegisterAsync(ServerProcess server, string user, string password)
    {
        await using var client = await ConnectAsync(server);
        client.Timeout = TimeSpan.FromSeconds(60);
        await client.OpenStreamAsync(server.Host);
        await client.SendAsync($"<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>{user}</username><password>{password}</password></query></iq>");
        var answer = await client.NextAsync(e => (string?)e.Attribute("id") == "reg", "registration result", TimeSpan.FromSeconds(60));
        if ((string?)answer.Attribute("type") != "result") throw new XunitException("registration failed: " + answer);
    }

    public async Task<XElement> OpenStreamAsync(string host)
    {
        _stream.Clear();
        _parsedUpTo = -1;
        _elements = [];
        _cursor = 0;
        _taken.Clear();
        await SendAsync(RawXmppClient.StreamHeader(host));
        return Features = await NextAsync(e => e.Name.LocalName == "features", "stream features");
    }

    /// <summary>Enables stream management; returns &lt;enabled/&gt; (or fails with what came instead).</summary>
    public async Task<XElement> EnableAsync(bool resume = true, string extra = "")
    {
        await SendAsync($"<enable xmlns='{Sm3}'{(resume ? " resume='true'" : "")}{extra}/>");
        var answer = await NextAsync(e => e.Name.NamespaceName == Sm3 && e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        if (answer.Name.LocalName != "enabled") throw new XunitException("enable failed: " + answer);
        _stanzasAtEnable = StanzaCount;
        return answer;
    }

    private int _stanzasAtEnable;

    /// <summary>Stanzas received on this stream since &lt;enable/&gt; was answered: the h to acknowledge.</summary>
    public int HandledSinceEnable => StanzaCount - _stanzasAtEnable;

    public int StanzaCount => _elements.Count(IsStanza);

    public static bool IsStanza(XElement e) => e.Name.NamespaceName == Client && e.Name.LocalName is "message" or "presence" or "iq";

    public Task SendAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    private async Task SendBytesAsync(byte[] bytes)
    {
        try
        {
            await _tls.WriteAsync(bytes);
            await _tls.FlushAsync();
        }
        catch (IOException)
        {
            // The server may have closed already; the transcript says why.
        }
    }

    /// <summary>The next element (after those already taken) matching <paramref name="match"/>; earlier non-matching ones stay available.</summary>
    public async Task<XElement> NextAsync(Func<XElement, bool> match, string what, TimeSpan? timeout = null)
    {
        var found = await TryNextAsync(match, timeout ?? Timeout);
        return found ?? throw new XunitException($"waiting for {what}: {(ClosedByServer ? "server closed the connection" : "timed out")}; received:\n{Transcript}");
    }

    private readonly HashSet<int> _taken = new();

    public async Task<XElement?> TryNextAsync(Func<XElement, bool> match, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            Parse();
            for (int i = _cursor; i < _elements.Count; i++)
            {
                if (_taken.Contains(i) || !match(_elements[i])) continue;
                _taken.Add(i);
                while (_taken.Contains(_cursor)) _cursor++;
                return _elements[i];
            }
            if (ClosedByServer || !await ReadChunkAsync(deadline.Token)) return null;
        }
    }

    /// <summary>Every element received so far on this stream.</summary>
    public IReadOnlyList<XElement> Elements
    {
        get
        {
            Parse();
            return _elements;
        }
    }

    /// <summary>Reads whatever arrives within <paramref name="quiet"/> (for "nothing more comes" checks).</summary>
    public async Task DrainAsync(TimeSpan quiet)
    {
        using var deadline = new CancellationTokenSource(quiet);
        while (!ClosedByServer && await ReadChunkAsync(deadline.Token))
        {
        }
        Parse();
    }

    /// <summary>Waits until the server closes the connection; false if it stays open.</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? Timeout);
        while (!ClosedByServer && await ReadChunkAsync(deadline.Token))
        {
        }
        Parse();
        return ClosedByServer;
    }

    /// <summary>Cuts the TCP connection with a reset, as a phone losing its network does (no &lt;/stream:stream&gt;).</summary>
    public void Abort()
    {
        try
        {
            _tcp.Client.LingerState = new LingerOption(true, 0);
            _tcp.Client.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Parse()
    {
        if (_parsedUpTo == _stream.Length) return;
        _elements = StreamTranscript.Parse(_stream.ToString()).Elements;
        _parsedUpTo = _stream.Length;
    }

    private async Task<bool> ReadChunkAsync(CancellationToken cancellation)
    {
        try
        {
            var count = await _tls.ReadAsync(_buffer, cancellation);
            if (count == 0)
            {
                ClosedByServer = true;
                return false;
            }
            int chars = _decoder.GetChars(_buffer, 0, count, _chars, 0);
            _stream.Append(_chars, 0, chars);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            ClosedByServer = true;
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _tls.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        _tcp.Dispose();
    }
}
