using System.Net;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// A raw-HTTP BOSH client (XEP-0124/XEP-0206), written for the tests because none of the client
/// libraries installed here speaks BOSH: @xmpp/client 0.14 has WebSocket and TCP transports only,
/// aioxmpp and slixmpp connect over TCP only. It behaves as browser clients do: at most
/// 'requests' (2) requests in flight, rids strictly increasing, and an empty request kept
/// outstanding so the server can always answer.
/// </summary>
internal sealed class BoshClient : IAsyncDisposable
{
    public const string Ns = "http://jabber.org/protocol/httpbind";
    private const string XBosh = "urn:xmpp:xbosh";

    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 4 }) { Timeout = TimeSpan.FromSeconds(90) };
    private readonly Uri _endpoint;
    private readonly Channel<XElement> _incoming = Channel.CreateUnbounded<XElement>();
    private readonly SemaphoreSlim _slots = new(2);
    private readonly CancellationTokenSource _abort = new();
    private readonly object _ridGate = new();
    private long _rid = Random.Shared.NextInt64(1_000_000, 1L << 40);
    private int _outstanding;
    private volatile bool _stopped;

    private BoshClient(Uri endpoint) => _endpoint = endpoint;

    public string Sid { get; private set; } = "";

    /// <summary>The session creation response (its attributes).</summary>
    public XElement Created { get; private set; } = null!;

    /// <summary>Why polling stopped, if a request failed.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Set once a response said type='terminate'.</summary>
    public XElement? Terminated { get; private set; }

    /// <summary>Opens a session (XEP-0206 §4) and returns the stream features it brought.</summary>
    public static async Task<(BoshClient Client, XElement Features)> StartAsync(Uri endpoint, string host, int wait = 20)
    {
        var client = new BoshClient(endpoint);
        var rid = client.NextRid();
        var created = await client.PostRawAsync(
            $"<body xmlns='{Ns}' xmlns:xmpp='{XBosh}' content='text/xml; charset=utf-8' hold='1' rid='{rid}' to='{host}' ver='1.6' wait='{wait}' xml:lang='en' xmpp:version='1.0'/>",
            CancellationToken.None);
        client.Created = created;
        client.Sid = (string?)created.Attribute("sid") ?? throw new Xunit.Sdk.XunitException("no sid in " + created);
        foreach (var child in created.Elements()) client._incoming.Writer.TryWrite(child);
        client.KeepPolling();
        return (client, await client.WaitForAsync(e => e.Name.LocalName == "features"));
    }

    /// <summary>Sends elements in one request; the answer's children arrive through <see cref="WaitForAsync"/>.</summary>
    public Task SendAsync(string payload, string attributes = "") => PostAsync(payload, attributes);

    public async Task AuthenticateAsync(string user, string password)
    {
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>");
        var result = await WaitForAsync(e => e.Name.LocalName is "success" or "failure");
        Xunit.Assert.Equal("success", result.Name.LocalName);
    }

    /// <summary>XEP-0206 §5: the restart after SASL; the new stream's features come back.</summary>
    public async Task<XElement> RestartAsync(string host)
    {
        await SendAsync("", $"xmlns:xmpp='{XBosh}' xmpp:restart='true' to='{host}' xml:lang='en'");
        return await WaitForAsync(e => e.Name.LocalName == "features");
    }

    public async Task<string> LoginAsync(string host, string user, string password)
    {
        await AuthenticateAsync(user, password);
        await RestartAsync(host);
        await SendAsync("<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bosh</resource></bind></iq>");
        var bound = await WaitForAsync(e => (string?)e.Attribute("id") == "bind1");
        return bound.Descendants().Single(e => e.Name.LocalName == "jid").Value;
    }

    public async Task<XElement> WaitForAsync(Func<XElement, bool> match, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var seen = new List<string>();
        try
        {
            while (true)
            {
                var element = await _incoming.Reader.ReadAsync(deadline.Token);
                seen.Add(element.ToString(SaveOptions.DisableFormatting));
                if (match(element)) return element;
            }
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"BOSH: not received in time; terminated: {Terminated}; failure: {Failure?.Message}; saw:\n" + string.Join("\n", seen));
        }
    }

    /// <summary>The network went away: in-flight requests are cut and no more are sent.</summary>
    public void Abort()
    {
        _stopped = true;
        _abort.Cancel();
    }

    /// <summary>One request by hand, outside the session's flow (for rid and error cases).</summary>
    public static async Task<XElement> PostOnceAsync(HttpClient http, Uri endpoint, string body)
    {
        using var response = await http.PostAsync(endpoint, new StringContent(body, Encoding.UTF8, "text/xml"));
        Xunit.Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return XElement.Parse(await response.Content.ReadAsStringAsync());
    }

    public long NextRid()
    {
        lock (_ridGate) return ++_rid;
    }

    private async Task PostAsync(string payload, string attributes)
    {
        await _slots.WaitAsync(_abort.Token);
        Interlocked.Increment(ref _outstanding);
        long rid;
        Task<XElement> request;
        // The rid is taken and the request started together, so rids leave in order.
        lock (_ridGate)
        {
            rid = ++_rid;
            request = PostRawAsync($"<body xmlns='{Ns}' rid='{rid}' sid='{Sid}' {attributes}>{payload}</body>", _abort.Token);
        }
        _ = Task.Run(async () =>
        {
            try
            {
                var body = await request;
                if ((string?)body.Attribute("type") == "terminate") Terminated = body;
                foreach (var child in body.Elements()) _incoming.Writer.TryWrite(child);
            }
            catch (Exception e)
            {
                // A failed request ends the client's polling (no retry loop against a broken server).
                if (!_stopped) Failure = e;
                _stopped = true;
            }
            finally
            {
                _slots.Release();
                if (Interlocked.Decrement(ref _outstanding) == 0) KeepPolling();
            }
        });
    }

    private void KeepPolling()
    {
        if (_stopped || Terminated is not null) return;
        _ = PostAsync("", "").ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task<XElement> PostRawAsync(string body, CancellationToken cancel)
    {
        using var response = await _http.PostAsync(_endpoint, new StringContent(body, Encoding.UTF8, "text/xml"), cancel);
        response.EnsureSuccessStatusCode();
        return XElement.Parse(await response.Content.ReadAsStringAsync(cancel));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped && Terminated is null)
        {
            _stopped = true;
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await PostRawAsync($"<body xmlns='{Ns}' rid='{NextRid()}' sid='{Sid}' type='terminate'/>", quick.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
            }
        }
        _abort.Cancel();
        _http.Dispose();
    }
}
