using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// One plain-TCP client connection of the stanza fuzzer. A background reader parses every element
/// the server sends (a parse failure is recorded: the server must only ever send well-formed XML),
/// answers XEP-0198 &lt;r/&gt; with the exact count of stanzas received once smacks is on, records
/// stream errors and the end of the stream, and hands everything else to <see cref="Received"/>.
/// </summary>
public sealed class FuzzConnection : IAsyncDisposable
{
    public const string StreamsNs = "http://etherx.jabber.org/streams";
    public const string StreamErrorsNs = "urn:ietf:params:xml:ns:xmpp-streams";
    public const string SmNs = "urn:xmpp:sm:3";
    public const string TlsNs = "urn:ietf:params:xml:ns:xmpp-tls";
    private static readonly XNamespace ClientNs = "jabber:client";

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StanzaFramer _framer = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<(Func<XElement, bool> Match, TaskCompletionSource<XElement> Result)> _waiters = [];
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _proceed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private uint _smReceived;
    private bool _smCounting;

    private FuzzConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Every element from the server except stream-management requests, on the reader's thread.</summary>
    public event Action<XElement>? Received;

    /// <summary>Conditions of every &lt;stream:error/&gt; received, in order.</summary>
    public List<string> StreamErrors { get; } = [];

    /// <summary>The first piece of server output that did not parse, if any.</summary>
    public string? Malformed { get; private set; }

    /// <summary>The server said &lt;proceed/&gt; to STARTTLS: it now waits for a TLS handshake this client never starts.</summary>
    public bool SawProceed => _proceed.Task.IsCompleted;

    /// <summary>The server answered STARTTLS with &lt;failure/&gt;, after which it closes the stream without a stream error (RFC 6120 §5.4.2.2).</summary>
    public bool SawTlsFailure { get; private set; }

    /// <summary>Completes when the stream ends or the server starts waiting for TLS.</summary>
    public Task Ended => Task.WhenAny(_closed.Task, _proceed.Task);

    /// <summary>The server's &lt;/stream:stream&gt; arrived.</summary>
    public bool StreamClosed { get; private set; }

    /// <summary>The connection ended with a reset, not an orderly close (see <see cref="StanzaFuzzDriver"/>).</summary>
    public bool Reset { get; private set; }

    /// <summary>The TCP connection ended (closed or reset).</summary>
    public bool TcpClosed => _closed.Task.IsCompleted;

    public Task Closed => _closed.Task;

    public string? SmId { get; private set; }

    public string? Jid { get; private set; }

    public static async Task<FuzzConnection> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new FuzzConnection(tcp);
    }

    public static string Header(string host) =>
        $"<?xml version='1.0'?><stream:stream to='{host}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='{StreamsNs}'>";

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Writes bytes; a write to a connection the server already closed is not an error here.</summary>
    public async Task SendAsync(byte[] bytes)
    {
        await _sendGate.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Waits for an element matching <paramref name="match"/> that arrives from now on; null on timeout or close.</summary>
    public async Task<XElement?> WaitForAsync(Func<XElement, bool> match, TimeSpan timeout)
    {
        var result = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _waiters.Add((match, result));
        var done = await Task.WhenAny(result.Task, _closed.Task, Task.Delay(timeout));
        lock (_gate) _waiters.RemoveAll(w => w.Result == result);
        return done == result.Task ? await result.Task : null;
    }

    /// <summary>Logs in: stream, optional XEP-0077 registration, SASL PLAIN, bind, optional smacks and presence.
    /// Returns null with the reason when a step is refused.</summary>
    public async Task<string?> LoginAsync(string host, string user, string password, string resource, bool register, bool smacks, TimeSpan timeout)
    {
        if (await OpenAsync(host, timeout) is null) return "no stream features";
        if (register)
        {
            var reg = WaitForAsync(e => (string?)e.Attribute("id") == "fz-reg", timeout);
            await SendAsync($"<iq type='set' id='fz-reg'><query xmlns='jabber:iq:register'><username>{user}</username><password>{password}</password></query></iq>");
            if (await reg is not { } reply) return "no registration reply";
            if ((string?)reply.Attribute("type") != "result") return "registration refused: " + reply;
        }
        var outcome = WaitForAsync(e => e.Name.LocalName is "success" or "failure", timeout);
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>");
        if (await outcome is not { Name.LocalName: "success" }) return "authentication failed";
        if (await OpenAsync(host, timeout) is null) return "no features after SASL";
        var bound = WaitForAsync(e => (string?)e.Attribute("id") == "fz-bind", timeout);
        await SendAsync($"<iq type='set' id='fz-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>");
        Jid = (await bound)?.Descendants().FirstOrDefault(e => e.Name.LocalName == "jid")?.Value;
        if (Jid is null) return "bind failed";
        if (smacks)
        {
            var enabled = WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", timeout);
            await SendAsync($"<enable xmlns='{SmNs}' resume='true'/>");
            if (await enabled is not { Name.LocalName: "enabled" }) return "smacks not enabled";
        }
        await SendAsync("<presence/>");
        return null;
    }

    private async Task<XElement?> OpenAsync(string host, TimeSpan timeout)
    {
        var features = WaitForAsync(e => e.Name == XName.Get("features", StreamsNs), timeout);
        lock (_gate) _framer.Reset(); // the server's next bytes are a new stream header (RFC 6120 §4.3.3)
        await SendAsync(Header(host));
        return await features;
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int count = await _stream.ReadAsync(buffer);
                if (count <= 0) break;
                var chars = new char[_decoder.GetCharCount(buffer, 0, count)];
                _decoder.GetChars(buffer, 0, count, chars, 0);
                List<string> frames;
                lock (_gate)
                {
                    frames = _framer.Push(new string(chars));
                    StreamClosed |= _framer.StreamClosed;
                }
                foreach (var frame in frames) await OnFrameAsync(frame);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // A reset (RST) rather than an orderly end: the kernel may have dropped what the server sent last.
            Reset = true;
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    private async Task OnFrameAsync(string frame)
    {
        XElement element;
        try
        {
            element = Parse(frame);
        }
        catch (XmlException e)
        {
            Malformed ??= $"{e.Message}: {frame}";
            return;
        }
        if (element.Name.Namespace == ClientNs && element.Name.LocalName is "message" or "presence" or "iq") _smReceived++;
        if (element.Name.NamespaceName == SmNs)
        {
            switch (element.Name.LocalName)
            {
                case "r":
                    // XEP-0198 §4: h is the count of handled stanzas, modulo 2^32.
                    if (_smCounting) await SendAsync($"<a xmlns='{SmNs}' h='{_smReceived}'/>");
                    return;
                case "enabled":
                    _smCounting = true;
                    _smReceived = 0;
                    SmId = (string?)element.Attribute("id") ?? SmId;
                    break;
            }
        }
        else if (element.Name == XName.Get("error", StreamsNs))
        {
            StreamErrors.Add(element.Elements().FirstOrDefault(e => e.Name.Namespace == StreamErrorsNs && e.Name.LocalName != "text")?.Name.LocalName ?? "(none)");
        }
        else if (element.Name.NamespaceName == TlsNs)
        {
            if (element.Name.LocalName == "proceed") _proceed.TrySetResult();
            else if (element.Name.LocalName == "failure") SawTlsFailure = true;
        }
        Dispatch(element);
    }

    private void Dispatch(XElement element)
    {
        TaskCompletionSource<XElement>? waiter = null;
        lock (_gate)
        {
            int index = _waiters.FindIndex(w => w.Match(element));
            if (index >= 0)
            {
                waiter = _waiters[index].Result;
                _waiters.RemoveAt(index);
            }
        }
        if (waiter is not null) waiter.TrySetResult(element);
        else Received?.Invoke(element);
    }

    /// <summary>Parses one depth-1 element in the stream's namespace context (jabber:client, stream:).</summary>
    private static XElement Parse(string frame)
    {
        var names = new XmlNamespaceManager(new NameTable());
        names.AddNamespace("", ClientNs.NamespaceName);
        names.AddNamespace("stream", StreamsNs);
        var context = new XmlParserContext(null, names, null, XmlSpace.None);
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, ConformanceLevel = ConformanceLevel.Fragment };
        using var reader = XmlReader.Create(new StringReader(frame), settings, context);
        reader.MoveToContent();
        return (XElement)XNode.ReadFrom(reader);
    }

    /// <summary>Closes our side at once (no &lt;/stream:stream&gt;).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            _tcp.Client.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
        _tcp.Dispose();
        await _reader;
        _sendGate.Dispose();
    }
}
