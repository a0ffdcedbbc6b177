using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace LuaXmpp.Bench.LoadGen.Web;

/// <summary>
/// XEP-0124/XEP-0206 as browser clients do it: at most two requests in flight, one of them an
/// empty request the server holds; stanzas queued while both are out leave together in the
/// next request. Rids increase by one per request.
/// </summary>
public sealed partial class BoshWebClient(Uri url) : WebClient
{
    // Its own connections, as each browser tab has: servers may tie a keep-alive connection to
    // the BOSH session that used it.
    private readonly HttpClient http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 3 }) { Timeout = TimeSpan.FromSeconds(90) };
    private const string Ns = "http://jabber.org/protocol/httpbind";
    private const string XBosh = "urn:xmpp:xbosh";
    private readonly Channel<string> _login = Channel.CreateUnbounded<string>();
    private readonly object _gate = new();
    private readonly StringBuilder _queued = new();
    private string _attributes = "";
    private readonly SemaphoreSlim _wake = new(0);
    private long _rid = Random.Shared.NextInt64(1_000_000, 1L << 40);
    private int _outstanding;
    private string _sid = "";
    private bool _loggedIn;
    private volatile bool _stopped;
    private CancellationTokenSource? _pump;

    public string? Error { get; private set; }

    public override async Task LoginAsync(string host, string user, string password, CancellationToken cancel)
    {
        var created = await PostAsync($"<body xmlns='{Ns}' xmlns:xmpp='{XBosh}' content='text/xml; charset=utf-8' hold='1' rid='{++_rid}' to='{host}' ver='1.6' wait='30' xml:lang='en' xmpp:version='1.0'/>", cancel);
        _sid = SidPattern().Match(created).Groups[1].Value;
        if (_sid.Length == 0) throw new IOException("BOSH: no sid in " + created);
        var features = Inner(created);
        _pump = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _ = PumpAsync(_pump.Token);
        if (!features.Contains("features")) await ExpectAsync("features", cancel);
        await SendAsync(PlainAuth(user, password), cancel);
        await ExpectAsync("success", cancel);
        await SendRequestAsync("", $"xmlns:xmpp='{XBosh}' xmpp:restart='true' to='{host}' xml:lang='en'");
        await ExpectAsync("features", cancel);
        await SendAsync(Bind, cancel);
        string bound;
        do bound = await _login.Reader.ReadAsync(cancel); while (BoundJid(bound) is null);
        FullJid = BoundJid(bound)!;
        _loggedIn = true;
    }

    private async Task ExpectAsync(string what, CancellationToken cancel)
    {
        while (true)
        {
            var text = await _login.Reader.ReadAsync(cancel);
            if (text.Contains(what, StringComparison.Ordinal)) return;
            if (text.Contains("<failure", StringComparison.Ordinal)) throw new IOException("BOSH login failed: " + text);
        }
    }

    public override ValueTask SendAsync(string stanzas, CancellationToken cancel)
    {
        lock (_gate) _queued.Append(stanzas);
        _wake.Release();
        return ValueTask.CompletedTask;
    }

    // A request with attributes of its own (the restart) waits for a free slot like any other:
    // a third request in flight is overactivity to some servers (XEP-0124 §11).
    private Task SendRequestAsync(string payload, string attributes)
    {
        lock (_gate)
        {
            _queued.Append(payload);
            _attributes = attributes;
        }
        _wake.Release();
        return Task.CompletedTask;
    }

    private async Task PumpAsync(CancellationToken cancel)
    {
        try
        {
            while (!_stopped)
            {
                lock (_gate)
                {
                    while (_outstanding < 2 && (_queued.Length > 0 || _attributes.Length > 0 || _outstanding == 0))
                    {
                        var payload = _queued.ToString();
                        var attributes = _attributes;
                        _queued.Clear();
                        _attributes = "";
                        _outstanding++;
                        _ = RequestAsync(++_rid, payload, attributes);
                    }
                }
                await _wake.WaitAsync(cancel);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RequestAsync(long rid, string payload, string attributes)
    {
        try
        {
            var body = await PostAsync($"<body xmlns='{Ns}' rid='{rid}' sid='{_sid}' {attributes}>{payload}</body>", _pump!.Token);
            if (body.Contains("type='terminate'") || body.Contains("type=\"terminate\""))
            {
                Error ??= "terminated: " + body;
                _stopped = true;
            }
            var inner = Inner(body);
            if (inner.Length > 0)
            {
                if (_loggedIn) Received?.Invoke(inner);
                else _login.Writer.TryWrite(inner);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            if (!_stopped) Error ??= e.Message;
            _stopped = true;
        }
        finally
        {
            lock (_gate) _outstanding--;
            _wake.Release();
        }
    }

    private async Task<string> PostAsync(string body, CancellationToken cancel)
    {
        using var content = new StringContent(body, Encoding.UTF8, "text/xml");
        using var response = await http.PostAsync(url, content, cancel);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync(cancel);
    }

    private static string Inner(string body)
    {
        var start = body.IndexOf("<body", StringComparison.Ordinal);
        var tagEnd = start < 0 ? -1 : body.IndexOf('>', start);
        if (tagEnd < 0 || body[tagEnd - 1] == '/') return "";
        var end = body.LastIndexOf("</body>", StringComparison.Ordinal);
        return end > tagEnd ? body[(tagEnd + 1)..end] : "";
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_stopped && _sid.Length > 0)
        {
            _stopped = true;
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                long rid;
                lock (_gate) rid = ++_rid;
                await PostAsync($"<body xmlns='{Ns}' rid='{rid}' sid='{_sid}' type='terminate'/>", quick.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
            }
        }
        _stopped = true;
        _pump?.Cancel();
        http.Dispose();
    }

    [GeneratedRegex("\\ssid=['\"]([^'\"]+)['\"]")]
    private static partial Regex SidPattern();
}
