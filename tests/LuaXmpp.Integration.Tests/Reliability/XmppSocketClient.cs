using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A small XMPP client over a raw socket for reliability tests: it logs in (optionally over
/// STARTTLS), sends exactly the bytes a test gives it, and hands back each element the server
/// sends, parsed. Cheap enough to hold hundreds of sessions in one test process.
/// </summary>
/// <remarks>
/// Reading is pull-based: <see cref="NextAsync"/> reads the socket only when no parsed element
/// is waiting. A read that outlives a timeout stays pending and is reused by the next call, so
/// a timeout never cancels a TLS read half-way. One reader at a time; sending is thread-safe.
/// </remarks>
public sealed class XmppSocketClient : IAsyncDisposable
{
    public const string StreamsNs = "http://etherx.jabber.org/streams";
    public const string StanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public const string StreamErrorsNs = "urn:ietf:params:xml:ns:xmpp-streams";
    public const string SaslNs = "urn:ietf:params:xml:ns:xmpp-sasl";
    public static readonly XNamespace Client = "jabber:client";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpClient _tcp;
    private readonly StanzaFramer _framer = new();
    private readonly Queue<XElement> _ready = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly byte[] _buffer = new byte[16 * 1024];
    private Decoder _decoder = Encoding.UTF8.GetDecoder();
    private Stream _stream;
    private Task<int>? _pendingRead;

    private XmppSocketClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>The server closed the TCP connection (or reset it).</summary>
    public bool ClosedByServer { get; private set; }

    /// <summary>The server sent its closing &lt;/stream:stream&gt;.</summary>
    public bool StreamClosed => _framer.StreamClosed;

    public string? Jid { get; private set; }

    public static async Task<XmppSocketClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new XmppSocketClient(tcp);
    }

    /// <summary>Connects from another loopback address (any of 127/8), as a client on another host would.</summary>
    public static async Task<XmppSocketClient> ConnectFromAsync(IPAddress local, int port)
    {
        var tcp = new TcpClient(new IPEndPoint(local, 0)) { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new XmppSocketClient(tcp);
    }

    public static string Header(string to, string contentNs = "jabber:client") =>
        $"<?xml version='1.0'?><stream:stream to='{to}' version='1.0' xml:lang='en' xmlns='{contentNs}' xmlns:stream='{StreamsNs}'>";

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends bytes; a write after the server hung up is not an error (what it said is readable).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        await _sendGate.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Opens (or restarts) the stream and returns the features (RFC 6120 §4.3.2).</summary>
    public async Task<XElement> OpenStreamAsync(string host)
    {
        _framer.Reset();
        _ready.Clear();
        await SendAsync(Header(host));
        return await WaitForAsync(e => e.Name == XName.Get("features", StreamsNs), "stream features");
    }

    /// <summary>The next element from the server, or null when the stream ended or nothing came in time.</summary>
    public async Task<XElement?> NextAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (_ready.Count == 0)
        {
            if (ClosedByServer || !await ReadChunkAsync(deadline.Token)) return null;
        }

        return _ready.Dequeue();
    }

    /// <summary>Reads until an element matches; the ones before it are returned in <paramref name="skipped"/> if given.</summary>
    public async Task<XElement> WaitForAsync(Func<XElement, bool> match, string what, TimeSpan? timeout = null, List<XElement>? skipped = null)
    {
        var seen = new List<XElement>();
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            while (_ready.Count > 0)
            {
                var element = _ready.Dequeue();
                if (match(element)) return element;
                seen.Add(element);
                skipped?.Add(element);
            }

            if (ClosedByServer || !await ReadChunkAsync(deadline.Token))
            {
                throw new XunitException($"{Jid ?? "client"} waiting for {what}: {(ClosedByServer ? "connection closed" : "timed out")}; " +
                    $"got instead:\n{string.Join("\n", seen.Select(e => e.ToString(SaveOptions.DisableFormatting)))}");
            }
        }
    }

    /// <summary>Reads everything until the server closes the connection; false if it is still open at the timeout.</summary>
    public async Task<(bool Closed, List<XElement> Elements)> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var elements = new List<XElement>();
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            while (_ready.Count > 0) elements.Add(_ready.Dequeue());
            if (ClosedByServer) return (true, elements);
            if (!await ReadChunkAsync(deadline.Token)) return (ClosedByServer, elements);
        }
    }

    private async Task<bool> ReadChunkAsync(CancellationToken cancellation)
    {
        _pendingRead ??= ReadRawAsync();
        var finished = await Task.WhenAny(_pendingRead, Task.Delay(Timeout.Infinite, cancellation));
        if (finished != _pendingRead) return false;
        int count = await _pendingRead;
        _pendingRead = null;
        if (count <= 0)
        {
            ClosedByServer = true;
            return false;
        }

        var chars = new char[_decoder.GetCharCount(_buffer, 0, count)];
        _decoder.GetChars(_buffer, 0, count, chars, 0);
        foreach (var frame in _framer.Push(new string(chars))) _ready.Enqueue(Parse(frame));
        return true;
    }

    private async Task<int> ReadRawAsync()
    {
        try
        {
            return await _stream.ReadAsync(_buffer);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            return 0; // a reset after the server's last bytes counts as closed
        }
    }

    /// <summary>Parses one depth-1 element in the stream's namespace context (jabber:client, stream:).</summary>
    public static XElement Parse(string frame)
    {
        var names = new XmlNamespaceManager(new NameTable());
        names.AddNamespace("", "jabber:client");
        names.AddNamespace("stream", StreamsNs);
        var context = new XmlParserContext(null, names, null, XmlSpace.None);
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, ConformanceLevel = ConformanceLevel.Fragment };
        using var reader = XmlReader.Create(new StringReader(frame), settings, context);
        reader.MoveToContent();
        return (XElement)XNode.ReadFrom(reader);
    }

    /// <summary>STARTTLS (RFC 6120 §5.4), trusting the server's self-signed certificate.</summary>
    public async Task StartTlsAsync(string host)
    {
        await SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        await WaitForAsync(e => e.Name.LocalName == "proceed", "<proceed/>");
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(host);
        _stream = tls;
        _decoder = Encoding.UTF8.GetDecoder();
    }

    /// <summary>XEP-0077 in-band registration on a fresh (unauthenticated) stream; returns the reply.</summary>
    public async Task<XElement> RegisterAsync(string user, string password, string id = "reg")
    {
        await SendAsync($"<iq type='set' id='{id}'><query xmlns='jabber:iq:register'><username>{Escape(user)}</username><password>{Escape(password)}</password></query></iq>");
        return await WaitForAsync(e => e.Name == Client + "iq" && (string?)e.Attribute("id") == id, "registration reply");
    }

    /// <summary>SASL PLAIN (RFC 4616): the success or failure element.</summary>
    public async Task<XElement> AuthPlainAsync(string user, string password)
    {
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync($"<auth xmlns='{SaslNs}' mechanism='PLAIN'>{credentials}</auth>");
        return await WaitForAsync(e => e.Name.LocalName is "success" or "failure", "SASL outcome");
    }

    /// <summary>
    /// Opens the stream (with STARTTLS when offered), authenticates with PLAIN and restarts the
    /// stream: where a resume (XEP-0198 §5) or a bind goes next. Registers first when asked.
    /// </summary>
    public async Task AuthenticateAsync(string host, string user, string password, bool register = false)
    {
        var features = await OpenStreamAsync(host);
        if (features.Element(XName.Get("starttls", "urn:ietf:params:xml:ns:xmpp-tls")) is not null)
        {
            await StartTlsAsync(host);
            await OpenStreamAsync(host);
        }

        if (register)
        {
            var reply = await RegisterAsync(user, password);
            if ((string?)reply.Attribute("type") != "result") throw new XunitException($"registering {user} failed: {reply}");
        }

        var outcome = await AuthPlainAsync(user, password);
        if (outcome.Name.LocalName != "success") throw new XunitException($"PLAIN for {user} failed: {outcome}");
        await OpenStreamAsync(host);
    }

    /// <summary>The whole way in: [STARTTLS,] [registration,] PLAIN, bind, optional initial presence.</summary>
    public async Task<string> LoginAsync(string host, string user, string password, string resource = "r",
        bool register = false, bool presence = true)
    {
        await AuthenticateAsync(host, user, password, register);
        await SendAsync($"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{Escape(resource)}</resource></bind></iq>");
        var bound = await WaitForAsync(e => (string?)e.Attribute("id") == "bind", "bind result");
        Jid = bound.Descendants().FirstOrDefault(e => e.Name.LocalName == "jid")?.Value
            ?? throw new XunitException($"bind failed for {user}: {bound}");
        if (presence) await SendAsync("<presence/>");
        return Jid;
    }

    /// <summary>An XMPP ping to the server (XEP-0199), answered or not within the timeout.</summary>
    public async Task<bool> PingAsync(string host, string id, TimeSpan? timeout = null)
    {
        await SendAsync($"<iq type='get' id='{id}' to='{host}'><ping xmlns='urn:xmpp:ping'/></iq>");
        try
        {
            var reply = await WaitForAsync(e => (string?)e.Attribute("id") == id, "ping reply", timeout);
            return (string?)reply.Attribute("type") == "result";
        }
        catch (XunitException)
        {
            return false;
        }
    }

    public static string Escape(string text) => new XText(text).ToString();

    /// <summary>The defined condition of a stanza or stream error element.</summary>
    public static string? ErrorCondition(XElement element)
    {
        var error = element.Name.LocalName == "error" ? element : element.Element(Client + "error");
        return error?.Elements().FirstOrDefault(e => e.Name.LocalName != "text"
            && (e.Name.NamespaceName == StanzasNs || e.Name.NamespaceName == StreamErrorsNs))?.Name.LocalName;
    }

    /// <summary>Closes with a TCP reset (linger 0), as a client that vanished without a FIN.</summary>
    public void Reset()
    {
        try
        {
            _tcp.Client.LingerState = new LingerOption(true, 0);
            _tcp.Client.Close();
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }

        _tcp.Dispose();
        _sendGate.Dispose();
    }
}
