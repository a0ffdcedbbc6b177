using System.Diagnostics;
using LuaXmpp.Bench.LoadGen.Client;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Wire;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// XEP-0313 with XEP-0059 paging. One user sends --messages chat messages to another (closed
/// loop, --window in flight), which both servers archive for the sender; the fill rate is
/// delivered messages per second with archiving on. Then the sender pages through its whole
/// archive (--page per query, "after" the previous page's last id), and finally repeats
/// --repeats queries each at the start, the middle and the end of the archive.
/// </summary>
public static class MamScenario
{
    private const string MamNs = "urn:xmpp:mam:2";
    private const int MaxPagesWithoutCount = 100_000;

    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var target = options.Target();
        var messages = options.Int("messages", 5000);
        var page = options.Int("page", 50);
        var repeats = options.Int("repeats", 50);
        var window = options.Int("window", 32);
        var report = new Report("mam", label).Add("messages", messages).Add("page", page);

        var owner = new XmppClient(target, options.User(0), target.Password);
        var peer = new XmppClient(target, options.User(1), target.Password);
        await owner.LoginAsync(cancel);
        await peer.LoginAsync(cancel);
        try
        {
            var probe = await QueryAsync(owner, page, after: null, cancel);
            if (probe.Error is not null) return report.Unsupported("archive query failed: " + probe.Error);
            var already = probe.Count ?? 0;

            var meter = new CpuMeter(target.ServerPid);
            var fillStart = Stopwatch.GetTimestamp();
            await FillAsync(owner, peer, messages, window, cancel);
            var fillSeconds = Stopwatch.GetElapsedTime(fillStart).TotalSeconds;
            var (_, fillCpu, fillOwnCpu) = meter.Stop();

            var passMeter = new CpuMeter(target.ServerPid);
            var lastIds = new List<string>();
            var passLatency = new Latencies();
            string? after = null;
            var pages = 0;
            // The pass pages until the server says complete. A server that sends <count/> (all
            // three do; LuaXmpp since mam_include_total defaults to true as in Prosody) bounds it
            // at the archive's pages + 5; without one it once stopped after messages/page + 5
            // pages (25 queries, not the archive's end), so it is now bounded only against a
            // server that never says complete.
            var limit = probe.Count is null ? MaxPagesWithoutCount : (already + messages) / page + 5;
            int? archived = null;
            while (pages < limit)
            {
                var result = await QueryAsync(owner, page, after, cancel);
                if (result.Error is not null) return report.Add("error", result.Error);
                passLatency.Add(result.Ticks);
                pages++;
                archived ??= result.Count;
                if (result.Last is null) break;
                lastIds.Add(result.Last);
                after = result.Last;
                if (result.Complete) break;
            }

            var (passWall, passCpu, passOwnCpu) = passMeter.Stop();
            var start = await RepeatAsync(owner, page, null, repeats, cancel);
            var middle = await RepeatAsync(owner, page, lastIds.Count > 1 ? lastIds[lastIds.Count / 2 - 1] : null, repeats, cancel);
            var end = await RepeatAsync(owner, page, lastIds.Count > 1 ? lastIds[^2] : null, repeats, cancel);
            return report.Add("archived_count", archived).Add("fill_msgs_per_s", messages / fillSeconds)
                .Add("fill_server_cpu_s_per_1000", fillCpu / messages * 1000)
                .Add("pages", pages).Add("queries_per_s", pages / passWall)
                .Add("pass_server_cpu_ms_per_query", passCpu / pages * 1000)
                .Add("pass_p50_ms", passLatency.PercentileMs(50)).Add("pass_p99_ms", passLatency.PercentileMs(99))
                .Add("start_p50_ms", start.PercentileMs(50)).Add("start_p99_ms", start.PercentileMs(99))
                .Add("middle_p50_ms", middle.PercentileMs(50)).Add("middle_p99_ms", middle.PercentileMs(99))
                .Add("end_p50_ms", end.PercentileMs(50)).Add("end_p99_ms", end.PercentileMs(99))
                .Add("server_cpu_s", fillCpu + passCpu).Add("loadgen_cpu_s", fillOwnCpu + passOwnCpu);
        }
        finally
        {
            await owner.CloseAsync();
            await peer.CloseAsync();
        }
    }

    /// <summary>Sends <paramref name="count"/> messages, at most <paramref name="window"/> not yet
    /// delivered, and returns once the peer has them all (or 30 s passed without progress).</summary>
    private static async Task FillAsync(XmppClient owner, XmppClient peer, int count, int window, CancellationToken cancel)
    {
        using var gate = new SemaphoreSlim(window, window);
        var received = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var reader = Task.Run(async () =>
        {
            while (received < count)
            {
                var frame = await peer.Connection.ReadAsync(stop.Token);
                if (!await peer.OnInboundAsync(frame, stop.Token) || !frame.Is("message")) continue;
                received++;
                gate.Release();
            }
        }, stop.Token);
        for (var i = 0; i < count; i++)
        {
            if (!await gate.WaitAsync(TimeSpan.FromSeconds(30), cancel)) throw new IOException($"archive fill stalled after {received} messages");
            await owner.Connection.SendAsync(
                $"<message to='{peer.FullJid}' type='chat' id='m{i}'><body>archived message {i}: some typical chat text</body></message>", cancel);
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(30), cancel);
    }

    private static async Task<Latencies> RepeatAsync(XmppClient owner, int page, string? after, int repeats, CancellationToken cancel)
    {
        var latencies = new Latencies();
        for (var i = 0; i < repeats; i++)
        {
            var result = await QueryAsync(owner, page, after, cancel);
            if (result.Error is null) latencies.Add(result.Ticks);
        }

        return latencies;
    }

    private sealed record QueryResult(long Ticks, string? Error, string? Last, int? Count, bool Complete);

    private static int _queryId;

    /// <summary>XEP-0313 §4: one page query; the time is from sending the iq to its result,
    /// which the server sends after the page's forwarded messages.</summary>
    private static async Task<QueryResult> QueryAsync(XmppClient owner, int page, string? after, CancellationToken cancel)
    {
        var id = "q" + Interlocked.Increment(ref _queryId);
        var set = $"<set xmlns='http://jabber.org/protocol/rsm'><max>{page}</max>{(after is null ? "" : $"<after>{after}</after>")}</set>";
        var start = Stopwatch.GetTimestamp();
        await owner.Connection.SendAsync($"<iq type='set' id='{id}'><query xmlns='{MamNs}' queryid='{id}'>{set}</query></iq>", cancel);
        var results = 0;
        while (true)
        {
            var frame = await owner.Connection.ReadAsync(cancel);
            if (!await owner.OnInboundAsync(frame, cancel)) continue;
            if (frame.Is("message") && frame.Contains($"queryid='{id}'") || frame.Contains($"queryid=\"{id}\""))
            {
                results++;
                continue;
            }

            if (!frame.Is("iq") || frame.Attribute("id") != id) continue;
            var ticks = Stopwatch.GetTimestamp() - start;
            if (frame.Attribute("type") != "result") return new QueryResult(ticks, frame.Xml, null, null, true);
            var count = int.TryParse(frame.ChildText("count"), out var c) ? c : (int?)null;
            var complete = frame.Contains("complete='true'") || frame.Contains("complete=\"true\"") || results == 0;
            return new QueryResult(ticks, null, frame.ChildText("last"), count, complete);
        }
    }
}
