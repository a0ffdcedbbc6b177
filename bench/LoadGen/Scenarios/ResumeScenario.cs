using System.Diagnostics;
using System.Globalization;
using LuaXmpp.Bench.LoadGen.Client;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Wire;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// XEP-0198 §5 resumption under load: K receivers with resumable sessions get --before
/// messages, then their TCP connections are reset (no stream close) while a sender per
/// receiver keeps sending --queued more. Once the server has routed all of them (a ping
/// round trip on the sender's own stream, which the server handles in order, proves it), each
/// receiver reconnects, authenticates and resumes with the h it had counted. Measured: the
/// &lt;resume/&gt; → &lt;resumed/&gt; time, the time until the last queued message arrived, and
/// lost and duplicated messages over both connections.
/// </summary>
public static class ResumeScenario
{
    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var target = options.Target();
        var sessions = options.Int("sessions", 50);
        var before = options.Int("before", 20);
        var queued = options.Int("queued", 100);
        var report = new Report("resume", label).Add("sessions", sessions).Add("queued", queued);
        if (!await LoginScenario.SmSupportedAsync(target, options.User(0), cancel))
        {
            return report.Unsupported("server does not advertise urn:xmpp:sm:3");
        }

        // The load generator's own resume code is compiled before it is timed (same for every server).
        WarmCode.Prepare(typeof(ResumeScenario), typeof(XmppClient), typeof(XmppConnection), typeof(Latencies));
        var receiverPool = new ClientPool(target, options.Int("concurrency", 50));
        var senderPool = new ClientPool(target, options.Int("concurrency", 50));
        await receiverPool.LoginAsync(Enumerable.Range(0, sessions).Select(options.User), smacks: true, resume: true, cancel);
        await senderPool.LoginAsync(Enumerable.Range(sessions, sessions).Select(options.User), smacks: false, resume: false, cancel);
        if (receiverPool.Errors + senderPool.Errors > 0)
        {
            await receiverPool.CloseAllAsync();
            await senderPool.CloseAllAsync();
            return report.Add("errors", receiverPool.Errors + senderPool.Errors)
                .Add("first_error", receiverPool.FirstError ?? senderPool.FirstError);
        }

        var receivers = receiverPool.Bound.OrderBy(c => c.User, StringComparer.Ordinal).Select(c => new Receiver(c)).ToArray();
        var senders = senderPool.Bound.OrderBy(c => c.User, StringComparer.Ordinal).ToArray();
        var meter = new CpuMeter(target.ServerPid);

        using (var reading = CancellationTokenSource.CreateLinkedTokenSource(cancel))
        {
            var loops = receivers.Select(r => r.ReadAsync(reading.Token)).ToArray();
            await Task.WhenAll(senders.Select((s, i) => SendAsync(s, receivers[i].Client.FullJid, 0, before, cancel)));
            await WaitAsync(() => receivers.All(r => r.Distinct >= before), TimeSpan.FromSeconds(10), cancel);
            await reading.CancelAsync();
            await Task.WhenAll(loops);
        }

        // Cut while messages are in flight: the senders start the queued batch right away.
        var queuedSends = senders.Select((s, i) => SendAsync(s, receivers[i].Client.FullJid, before, queued, cancel)).ToArray();
        foreach (var receiver in receivers) receiver.Client.Connection.Abort();
        await Task.WhenAll(queuedSends);
        await Task.WhenAll(senders.Select(s => PingServerAsync(s, target.Host, cancel)));

        var resumeLatency = new Latencies();
        var replayLatency = new Latencies();
        var failures = 0;
        string? firstError = null;
        var trace = options.Bool("trace");
        var traceStart = Stopwatch.GetTimestamp();
        for (var index = 0; index < receivers.Length; index++)
        {
            try
            {
                var timing = await receivers[index].ResumeAsync(before + queued, cancel);
                resumeLatency.Add(timing.Resumed);
                replayLatency.Add(timing.Replayed);
                if (trace) Trace(label, index, traceStart, timing);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                failures++;
                firstError ??= e.Message;
            }
        }

        var (wall, serverCpu, ownCpu) = meter.Stop();
        var expected = (long)sessions * (before + queued);
        var distinct = receivers.Sum(r => (long)r.Distinct);
        var total = receivers.Sum(r => r.Total);
        await Task.WhenAll(receivers.Select(r => r.Client.CloseAsync()));
        await senderPool.CloseAllAsync();
        return report.Add("resumed", sessions - failures).Add("failed", failures)
            .Add("resume_p50_ms", resumeLatency.PercentileMs(50)).Add("resume_p99_ms", resumeLatency.PercentileMs(99))
            .Add("replay_p50_ms", replayLatency.PercentileMs(50)).Add("replay_p99_ms", replayLatency.PercentileMs(99))
            .Add("lost", expected - distinct).Add("duplicated", total - distinct)
            .Add("server_cpu_s", serverCpu).Add("loadgen_cpu_s", ownCpu).Add("wall_s", wall).Add("first_error", firstError);
    }

    /// <summary>--trace: one line per resume on stderr (index, when the &lt;resume/&gt; was sent on
    /// CLOCK_MONOTONIC in seconds (mono_start, the clock of `perf sched record -k mono`), this
    /// process's GC pauses while it waited for &lt;resumed/&gt; (lg_gc_ms), ms since the first
    /// reconnect, reconnect+auth, &lt;resume/&gt; → &lt;resumed/&gt;, until all replayed, and how many
    /// methods the load generator itself compiled while waiting), to see which are slow and why.</summary>
    private static void Trace(string label, int index, long start, ResumeTiming t)
    {
        static string Ms(long ticks) => (ticks * 1000.0 / Stopwatch.Frequency).ToString("F3", CultureInfo.InvariantCulture);
        var sentAt = (t.SentAt * 1.0 / Stopwatch.Frequency).ToString("F6", CultureInfo.InvariantCulture);
        Console.Error.WriteLine(
            $"# resume-trace {label} i={index} mono_start={sentAt} lg_gc_ms={t.GcPauseMs.ToString("F3", CultureInfo.InvariantCulture)} at={Ms(Stopwatch.GetTimestamp() - start)} auth={Ms(t.Connected)} resumed={Ms(t.Resumed)} replayed={Ms(t.Replayed)} loadgen_jit={t.Jitted}");
    }

    /// <summary>One resume, in Stopwatch ticks (SentAt is the timestamp the &lt;resume/&gt; left at).</summary>
    private readonly record struct ResumeTiming(long Connected, long Resumed, long Replayed, long Jitted, long SentAt, double GcPauseMs);

    private static async Task SendAsync(XmppClient sender, string to, int first, int count, CancellationToken cancel)
    {
        for (var seq = first; seq < first + count; seq++)
        {
            await sender.Connection.SendAsync($"<message to='{to}' type='chat' id='s{seq}'><body>queued message {seq}</body></message>", cancel);
        }
    }

    private static async Task PingServerAsync(XmppClient sender, string host, CancellationToken cancel)
    {
        await sender.Connection.SendAsync($"<iq type='get' id='sync' to='{host}'><ping xmlns='urn:xmpp:ping'/></iq>", cancel);
        await sender.Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "iq" && f.Attribute("id") == "sync", cancel);
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancel)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (!condition() && Stopwatch.GetTimestamp() < deadline) await Task.Delay(5, cancel);
    }

    private sealed class Receiver(XmppClient client)
    {
        private readonly HashSet<int> _seen = [];

        public XmppClient Client => client;

        public int Distinct
        {
            get
            {
                lock (_seen) return _seen.Count;
            }
        }

        public long Total { get; private set; }

        public async Task ReadAsync(CancellationToken cancel)
        {
            try
            {
                while (true) await HandleAsync(await client.Connection.ReadAsync(cancel), cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
            }
        }

        private async Task HandleAsync(Frame frame, CancellationToken cancel)
        {
            if (!await client.OnInboundAsync(frame, cancel) || !frame.Is("message")) return;
            var id = frame.Attribute("id");
            if (id is null || !id.StartsWith('s') || !int.TryParse(id.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) return;
            Total++;
            lock (_seen) _seen.Add(seq);
        }

        /// <summary>Reconnects and resumes; returns the ticks the reconnect and authentication took,
        /// to &lt;resumed/&gt; and to the moment all <paramref name="expected"/> messages had been
        /// seen (or the 5 s limit), and how many methods this process compiled while it waited for
        /// &lt;resumed/&gt; (background tier-up included).</summary>
        public async Task<ResumeTiming> ResumeAsync(int expected, CancellationToken cancel)
        {
            var previd = client.ResumeId ?? throw new IOException("no resumption id was offered");
            var handled = client.Handled;
            var connecting = Stopwatch.GetTimestamp();
            await client.ConnectAndAuthenticateAsync(cancel);
            var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
            var pause0 = GC.GetTotalPauseDuration();
            var start = Stopwatch.GetTimestamp();
            await client.ResumeAsync(previd, handled, cancel);
            var resumed = Stopwatch.GetTimestamp() - start;
            var gcPauseMs = (GC.GetTotalPauseDuration() - pause0).TotalMilliseconds;
            jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitted;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            limit.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                while (Distinct < expected) await HandleAsync(await client.Connection.ReadAsync(limit.Token), limit.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                // Whatever did not arrive within 5 s counts as lost.
            }

            return new ResumeTiming(start - connecting, resumed, Stopwatch.GetTimestamp() - start, jitted, start, gcPauseMs);
        }
    }
}
