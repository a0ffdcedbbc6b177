using System.Diagnostics;
using System.Globalization;
using System.Text;
using LuaXmpp.Bench.LoadGen.Client;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Wire;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// N pairs of clients send each other chat messages (to the partner's full JID) for T seconds,
/// either at a fixed total --rate (open loop) or as fast as a per-client window of --window
/// unacknowledged-by-delivery messages allows (closed loop: the maximum rate). The message id
/// carries the send timestamp, so the receiver measures end-to-end latency on one clock.
/// A --warmup period runs first and is not measured (JIT, caches) for either server.
/// With --port2 (and --host2, --pid2) every pair spans two federated servers: the even users
/// log in on the first, the odd ones on the second, so each message crosses server-to-server.
/// </summary>
public static class ChatScenario
{
    private const string Body = "The quick brown fox jumps over the lazy dog; a typical short chat line.";

    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var target = options.Target();
        var pairs = options.Int("pairs", 20);
        var smacks = options.Bool("smacks");
        var rate = options.Double("rate", 0);
        var duration = TimeSpan.FromSeconds(options.Double("duration", 10));
        var warmup = TimeSpan.FromSeconds(options.Double("warmup", 2));
        var window = options.Int("window", 16);
        // headline: routed but, by XEP-0313's default rules, never archived; chat: archived when mod_mam runs.
        var type = options.String("type", "chat");
        if (type is not ("chat" or "headline" or "normal")) throw new ArgumentException("--type must be chat, headline or normal");
        var report = new Report("chat", label).Add("pairs", pairs).Add("smacks", smacks).Add("type", type)
            .Add("mode", rate > 0 ? "rate" : "max").Add("target_rate", rate > 0 ? rate : null).Add("duration_s", duration.TotalSeconds);
        if (smacks && !await LoginScenario.SmSupportedAsync(target, options.User(0), cancel))
        {
            return report.Unsupported("server does not advertise urn:xmpp:sm:3");
        }

        var second = options.Int("port2", 0) > 0 ? target with { Host = options.String("host2", "localhost"), Port = options.Int("port2", 0), ServerPid = options.Int("pid2", 0) } : null;
        var pool = new ClientPool(target, options.Int("concurrency", 50));
        var pool2 = second is null ? pool : new ClientPool(second, options.Int("concurrency", 50));
        var users = Enumerable.Range(0, 2 * pairs).ToArray();
        await pool.LoginAsync(users.Where(i => second is null || i % 2 == 0).Select(options.User), smacks, resume: false, cancel);
        if (second is not null) await pool2.LoginAsync(users.Where(i => i % 2 == 1).Select(options.User), smacks, resume: false, cancel);
        if (pool.Errors > 0 || pool2.Errors > 0)
        {
            await pool.CloseAllAsync();
            await pool2.CloseAllAsync();
            return report.Add("errors", pool.Errors + (second is null ? 0 : pool2.Errors)).Add("first_error", pool.FirstError ?? pool2.FirstError);
        }

        var bound = second is null ? pool.Bound : pool.Bound.Concat(pool2.Bound).ToList();
        var peers = bound.OrderBy(c => int.Parse(c.User[options.String("prefix", "bench").Length..], CultureInfo.InvariantCulture))
            .Select(c => new Peer(c, window)).ToArray();
        for (var i = 0; i < peers.Length; i += 2)
        {
            peers[i].Partner = peers[i + 1];
            peers[i + 1].Partner = peers[i];
        }

        var run = new Run(smacks, rate > 0 ? rate / peers.Length : 0, type);
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var readers = peers.Select(p => p.ReadLoopAsync(run, stopReading.Token)).ToArray();
        var sendEnd = Stopwatch.GetTimestamp() + (long)((warmup + duration).TotalSeconds * Stopwatch.Frequency);
        var senders = peers.Select(p => p.SendLoopAsync(run, sendEnd, cancel)).ToArray();

        await Task.Delay(warmup, cancel);
        // The start is published before it arrives (MeasureLead): a sender decides at each send
        // whether its stamp counts, and one that read "not yet" while the start was taken but not
        // yet stored sent a message the receiver counted (lost -6 and -46 in bench runs).
        run.MeasureFrom = Stopwatch.GetTimestamp() + MeasureLead;
        await Task.Delay(TimeSpan.FromSeconds(MeasureLead / (double)Stopwatch.Frequency), cancel);
        var meter = new CpuMeter(target.ServerPid);
        var meter2 = second is null ? null : new CpuMeter(second.ServerPid);
        await Task.WhenAll(senders);
        var sent = peers.Sum(p => p.SentMeasured);
        await DrainAsync(peers, sent, TimeSpan.FromSeconds(options.Double("drain", 5)), cancel);
        var (wall, serverCpu, ownCpu) = meter.Stop();
        if (meter2 is not null) serverCpu += meter2.Stop().ServerCpu;
        var delivered = peers.Sum(p => p.ReceivedMeasured);
        var duplicated = peers.Sum(p => p.Duplicated);
        var lastDelivery = peers.Max(p => p.LastDelivery);
        var deliveryWindow = (lastDelivery - run.MeasureFrom) / (double)Stopwatch.Frequency;

        await stopReading.CancelAsync();
        await Task.WhenAll(readers.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
        await pool.CloseAllAsync();
        if (second is not null) await pool2.CloseAllAsync();
        var latencies = new Latencies();
        foreach (var peer in peers) latencies.AddRange(peer.Latencies);
        return report.Add("sent", sent).Add("delivered", delivered).Add("lost", sent - delivered).Add("duplicated", duplicated)
            .Add("delivered_per_s", delivered / Math.Max(deliveryWindow, 1e-9))
            .Add("p50_ms", latencies.PercentileMs(50)).Add("p95_ms", latencies.PercentileMs(95)).Add("p99_ms", latencies.PercentileMs(99))
            .Add("server_cpu_s_per_1000", delivered > 0 ? serverCpu / delivered * 1000 : double.NaN)
            .Add("server_cpu_s", serverCpu).Add("loadgen_cpu_s", ownCpu).Add("wall_s", wall)
            .Add("read_errors", peers.Count(p => p.ReadError is not null)).Add("first_error", peers.Select(p => p.ReadError).FirstOrDefault(e => e is not null));
    }

    /// <summary>How far ahead of itself the measurement's start is published (50 ms), so that no
    /// sender can take a stamp after the start before it sees the start.</summary>
    internal static readonly long MeasureLead = Stopwatch.Frequency / 20;

    private static async Task DrainAsync(Peer[] peers, long sent, TimeSpan limit, CancellationToken cancel)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (peers.Sum(p => p.ReceivedMeasured) < sent && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10, cancel);
        }
    }

    /// <summary>Settings shared by every peer of one run.</summary>
    private sealed class Run(bool smacks, double perClientRate, string type)
    {
        public string Type { get; } = type;

        public bool Smacks { get; } = smacks;

        public double PerClientRate { get; } = perClientRate;

        /// <summary>Messages stamped before this are warm-up; long.MaxValue until warm-up ends.</summary>
        public long MeasureFrom { get; set; } = long.MaxValue;
    }

    private sealed class Peer(XmppClient client, int window)
    {
        private readonly SemaphoreSlim _window = new(window, window);
        private long _sentMeasured;
        private long _receivedMeasured;
        private long _duplicated;
        private long _lastStamp = long.MinValue;

        public Peer Partner { get; set; } = null!;

        public List<long> Latencies { get; } = [];

        public long SentMeasured => Interlocked.Read(ref _sentMeasured);

        public long ReceivedMeasured => Interlocked.Read(ref _receivedMeasured);

        /// <summary>Messages whose stamp was not newer than the last one from the partner: one sender's
        /// messages travel one connection and one route, so anything else is a duplicate (or reordered).</summary>
        public long Duplicated => Interlocked.Read(ref _duplicated);

        public long LastDelivery { get; private set; }

        public string? ReadError { get; private set; }

        public async Task SendLoopAsync(Run run, long end, CancellationToken cancel)
        {
            await Task.Yield();
            var start = Stopwatch.GetTimestamp();
            var prefix = Encoding.UTF8.GetBytes($"<message to='{Partner.Client.FullJid}' type='{run.Type}' id='");
            var suffix = Encoding.UTF8.GetBytes($"'><body>{Body}</body></message>");
            long count = 0;
            while (Stopwatch.GetTimestamp() < end)
            {
                if (run.PerClientRate > 0)
                {
                    var due = (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * run.PerClientRate);
                    if (count >= due)
                    {
                        await Task.Delay(1, cancel);
                        continue;
                    }
                }
                else if (!await _window.WaitAsync(TimeSpan.FromSeconds(1), cancel))
                {
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                await client.Connection.SendAsync(prefix, now, suffix, cancel);
                count++;
                if (now >= run.MeasureFrom) Interlocked.Increment(ref _sentMeasured);
                // XEP-0198 §4: a client asks for acks now and then; every 10 stanzas is typical.
                if (run.Smacks && count % 10 == 0) await client.Connection.SendAsync("<r xmlns='urn:xmpp:sm:3'/>", cancel);
            }
        }

        public XmppClient Client => client;

        private void ReleaseWindow()
        {
            try
            {
                _window.Release();
            }
            catch (SemaphoreFullException)
            {
                // A duplicate delivery (a server bug the loss count will not show): ignore.
            }
        }

        public async Task ReadLoopAsync(Run run, CancellationToken cancel)
        {
            try
            {
                while (true)
                {
                    var frame = await client.Connection.ReadAsync(cancel);
                    if (!await client.OnInboundAsync(frame, cancel) || !frame.Is("message")) continue;
                    var now = Stopwatch.GetTimestamp();
                    if (!long.TryParse(frame.Attribute("id"), NumberStyles.None, CultureInfo.InvariantCulture, out var stamp)) continue;
                    if (stamp <= _lastStamp)
                    {
                        Interlocked.Increment(ref _duplicated);
                        continue;
                    }
                    _lastStamp = stamp;
                    if (run.PerClientRate == 0) Partner.ReleaseWindow();
                    if (stamp < run.MeasureFrom) continue;
                    Latencies.Add(now - stamp);
                    LastDelivery = now;
                    Interlocked.Increment(ref _receivedMeasured);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                ReadError = e.Message;
            }
        }
    }
}
