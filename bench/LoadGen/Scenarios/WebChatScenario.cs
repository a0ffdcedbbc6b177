using System.Diagnostics;
using System.Globalization;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Web;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// The chat scenario over an HTTP transport: N pairs log in over WebSocket (RFC 7395) or BOSH
/// (XEP-0206) at --url and send each other chat messages for T seconds, each client keeping at
/// most --window messages undelivered (closed loop: the maximum rate). The id carries the send
/// time, so latency is end to end on one clock; a --warmup period is not measured.
/// </summary>
public static class WebChatScenario
{
    private const string Body = "The quick brown fox jumps over the lazy dog; a typical short chat line.";

    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var transport = options.String("transport", "websocket");
        if (transport is not ("websocket" or "bosh")) throw new ArgumentException("--transport must be websocket or bosh");
        var url = new Uri(options.String("url", transport == "bosh" ? "http://127.0.0.1:5280/http-bind" : "ws://127.0.0.1:5280/xmpp-websocket"));
        var pairs = options.Int("pairs", 20);
        var duration = TimeSpan.FromSeconds(options.Double("duration", 10));
        var warmup = TimeSpan.FromSeconds(options.Double("warmup", 2));
        var window = options.Int("window", 16);
        var host = options.String("host", "localhost");
        var report = new Report("webchat", label).Add("transport", transport).Add("pairs", pairs).Add("duration_s", duration.TotalSeconds);

        var peers = new Peer[2 * pairs];
        using var logins = new SemaphoreSlim(options.Int("concurrency", 20));
        var errors = 0;
        string? firstError = null;
        await Task.WhenAll(Enumerable.Range(0, peers.Length).Select(async i =>
        {
            await logins.WaitAsync(cancel);
            WebClient client = transport == "bosh" ? new BoshWebClient(url) : new WebSocketClient(url);
            try
            {
                using var login = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                login.CancelAfter(TimeSpan.FromSeconds(30)); // a login that never completes is an error, not a hang
                await client.LoginAsync(host, options.User(i), options.String("password", "bench-password"), login.Token);
                peers[i] = new Peer(client, window);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or System.Net.WebSockets.WebSocketException
                || (e is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                Interlocked.Increment(ref errors);
                firstError ??= (client as BoshWebClient)?.Error ?? e.Message;
            }
            finally
            {
                logins.Release();
            }
        }));
        if (errors > 0)
        {
            foreach (var p in peers.Where(p => p is not null)) await p.Client.DisposeAsync();
            return report.Add("errors", errors).Add("first_error", firstError);
        }
        for (var i = 0; i < peers.Length; i += 2)
        {
            peers[i].Partner = peers[i + 1];
            peers[i + 1].Partner = peers[i];
        }

        var measureFrom = long.MaxValue;
        foreach (var peer in peers) peer.Listen(() => Volatile.Read(ref measureFrom));
        var sendEnd = Stopwatch.GetTimestamp() + (long)((warmup + duration).TotalSeconds * Stopwatch.Frequency);
        var senders = peers.Select(p => p.SendLoopAsync(() => Volatile.Read(ref measureFrom), sendEnd, cancel)).ToArray();
        await Task.Delay(warmup, cancel);
        // Published ahead of itself, as in ChatScenario: no sender stamps after the start unseen.
        Volatile.Write(ref measureFrom, Stopwatch.GetTimestamp() + ChatScenario.MeasureLead);
        await Task.Delay(TimeSpan.FromSeconds(ChatScenario.MeasureLead / (double)Stopwatch.Frequency), cancel);
        var meter = new CpuMeter(options.Int("pid", 0));
        await Task.WhenAll(senders);
        var sent = peers.Sum(p => p.SentMeasured);
        var drainUntil = Stopwatch.GetTimestamp() + (long)(options.Double("drain", 5) * Stopwatch.Frequency);
        while (peers.Sum(p => p.ReceivedMeasured) < sent && Stopwatch.GetTimestamp() < drainUntil) await Task.Delay(10, cancel);
        var (wall, serverCpu, ownCpu) = meter.Stop();
        var delivered = peers.Sum(p => p.ReceivedMeasured);
        var window_s = (peers.Max(p => p.LastDelivery) - measureFrom) / (double)Stopwatch.Frequency;
        var transportError = peers.Select(p => (p.Client as BoshWebClient)?.Error).FirstOrDefault(e => e is not null);
        foreach (var peer in peers) await peer.Client.DisposeAsync();
        var latencies = new Latencies();
        foreach (var peer in peers) lock (peer.Latencies) latencies.AddRange(peer.Latencies);
        return report.Add("sent", sent).Add("delivered", delivered).Add("lost", sent - delivered)
            .Add("delivered_per_s", delivered / Math.Max(window_s, 1e-9))
            .Add("p50_ms", latencies.PercentileMs(50)).Add("p99_ms", latencies.PercentileMs(99))
            .Add("server_cpu_s_per_1000", delivered > 0 ? serverCpu / delivered * 1000 : double.NaN)
            .Add("server_cpu_s", serverCpu).Add("loadgen_cpu_s", ownCpu).Add("wall_s", wall)
            .Add("first_error", transportError);
    }

    private sealed class Peer(WebClient client, int window)
    {
        private readonly SemaphoreSlim _window = new(window, window);
        private long _sentMeasured;
        private long _receivedMeasured;

        public WebClient Client => client;

        public Peer Partner { get; set; } = null!;

        public List<long> Latencies { get; } = [];

        public long SentMeasured => Interlocked.Read(ref _sentMeasured);

        public long ReceivedMeasured => Interlocked.Read(ref _receivedMeasured);

        public long LastDelivery { get; private set; }

        public void Listen(Func<long> measureFrom) => client.Received = text =>
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var id in WebClient.MessageIds(text))
            {
                if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var stamp)) continue;
                Partner.Release();
                if (stamp < measureFrom()) continue;
                lock (Latencies) Latencies.Add(now - stamp);
                LastDelivery = now;
                Interlocked.Increment(ref _receivedMeasured);
            }
        };

        private void Release()
        {
            try
            {
                _window.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }

        public async Task SendLoopAsync(Func<long> measureFrom, long end, CancellationToken cancel)
        {
            await Task.Yield();
            var to = Partner.Client.FullJid;
            while (Stopwatch.GetTimestamp() < end)
            {
                if (!await _window.WaitAsync(TimeSpan.FromSeconds(1), cancel)) continue;
                var now = Stopwatch.GetTimestamp();
                await client.SendAsync($"<message xmlns='jabber:client' to='{to}' type='chat' id='{now}'><body>{Body}</body></message>", cancel);
                if (now >= measureFrom()) Interlocked.Increment(ref _sentMeasured);
            }
        }
    }
}
