using System.Diagnostics;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// XEP-0198 under faults: clients with resumable stream management send chat messages to each
/// other without pause while a <see cref="CuttingProxy"/> between them and the server cuts
/// their connections at random byte offsets (RST or FIN, either direction, anywhere, inside a
/// message, inside an &lt;a/&gt; or &lt;r/&gt;). Every cut client reconnects and resumes with the h
/// it really processed and re-sends what the server had not acknowledged. Per (sender,
/// receiver) pair every message must arrive exactly once and in order.
/// CI: 200 cuts with 8 clients; full (LUAXMPP_RELIABILITY_FULL=1): 10 000 cuts with 16 clients.
/// </summary>
public sealed class SmacksCutTests(ITestOutputHelper output)
{
    private const int MaxCutOffset = 6_000;

    [Fact]
    public async Task CutAndResume_AtRandomPoints_LosesAndDuplicatesNothing()
    {
        int cycles = ReliabilitySize.Pick("CYCLES", ci: 200, full: 10_000);
        int count = ReliabilitySize.Pick("SMACKS_CLIENTS", ci: 8, full: 16);
        int rate = ReliabilitySize.Pick("SMACKS_RATE", ci: 100, full: 100); // messages per second per client
        int seed = ReliabilitySize.Pick("SEED", ci: 198, full: 198);
        await using var server = await SmacksReliabilityServer.StartAsync(output);
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        await using var proxy = new CuttingProxy(server.C2sPort, seed, MaxCutOffset);
        var clients = new ResumingClient[count];
        for (int i = 0; i < count; i++)
        {
            clients[i] = new ResumingClient(SmacksReliabilityServer.Host, proxy.Port, "cut" + i, "pw" + i);
            await clients[i].StartAsync("r");
        }

        long rssBefore = ServerMemory.RssKib(pid);
        var traffic = new Traffic(count);
        proxy.CutLimit = cycles;
        proxy.Cutting = true;
        var clock = Stopwatch.StartNew();
        var loops = clients.Select((c, i) => Task.Run(() => RunClientAsync(c, i, clients, traffic, rate, seed))).ToArray();

        var limit = TimeSpan.FromSeconds(ReliabilitySize.Full ? 3_600 : 120);
        while (proxy.Cuts < cycles && clock.Elapsed < limit && !loops.Any(l => l.IsFaulted)) await Task.Delay(50);
        double cutSeconds = clock.Elapsed.TotalSeconds;
        proxy.Cutting = false;
        traffic.StopSending = true;
        // Drain: every client gets its unacked stanzas acknowledged and every message delivered.
        var drain = Stopwatch.StartNew();
        while (!traffic.Settled(clients) && drain.Elapsed < TimeSpan.FromSeconds(60) && !loops.Any(l => l.IsFaulted)) await Task.Delay(50);
        traffic.Finished = true;
        await Task.WhenAll(loops);
        long rssAfter = ServerMemory.RssKib(pid);

        var report = traffic.Check();
        var resumeMs = clients.SelectMany(c => c.ResumeMs).Order().ToArray();
        var reconnectMs = clients.SelectMany(c => c.ReconnectMs).Order().ToArray();
        var failed = clients.SelectMany(c => c.FailedResumes).ToList();
        var errors = clients.SelectMany(c => c.Errors).ToList();
        output.WriteLine($"SMACKS CUTS: {proxy.Cuts} cuts in {cutSeconds:F1} s with {count} clients (seed {seed}); " +
            $"{report.Sent} messages sent, {report.Received} received; lost {report.Lost}, duplicated {report.Duplicated}, " +
            $"out of order {report.OutOfOrder}; resumes {resumeMs.Length}, failed resumes {failed.Count}, " +
            $"attempts cut before <resumed/> {clients.Sum(c => c.InterruptedAttempts)}; errors {errors.Count}");
        output.WriteLine($"  resume (<resume/> to <resumed/>) ms: p50 {P(resumeMs, 0.5):F1}, p90 {P(resumeMs, 0.9):F1}, p99 {P(resumeMs, 0.99):F1}, max {P(resumeMs, 1):F1}");
        output.WriteLine($"  reconnect (cut noticed to resumed, incl. connect + PLAIN) ms: p50 {P(reconnectMs, 0.5):F1}, p99 {P(reconnectMs, 0.99):F1}, max {P(reconnectMs, 1):F1}");
        output.WriteLine($"  cuts by kind: {string.Join(", ", proxy.CutsByKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        output.WriteLine($"  server RSS {rssBefore / 1024} MiB before, {rssAfter / 1024} MiB after; drain {drain.Elapsed.TotalSeconds:F1} s");
        foreach (var line in failed.Concat(errors).Concat(report.Problems).Take(20)) output.WriteLine("  " + line);

        server.Check(() =>
        {
            foreach (var loop in loops) Assert.True(loop.IsCompletedSuccessfully, loop.Exception?.ToString());
            Assert.Equal(cycles, proxy.Cuts);
            Assert.Empty(failed);
            Assert.Empty(errors);
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Duplicated);
            Assert.Equal(0, report.OutOfOrder);
            Assert.True(report.Sent > 0);
        });
    }

    private static double P(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>One client's loop: sends at its rate to random others and records what arrives, until told to finish.</summary>
    private static async Task RunClientAsync(ResumingClient client, int me, ResumingClient[] all, Traffic traffic, int rate, int seed)
    {
        var random = new Random(seed * 31 + me);
        var clock = Stopwatch.StartNew();
        long mine = 0;
        var lastRequest = TimeSpan.Zero;
        while (!traffic.Finished)
        {
            if (!traffic.StopSending)
            {
                long due = (long)(clock.Elapsed.TotalSeconds * rate) - mine;
                for (long k = 0; k < due; k++)
                {
                    int to = random.Next(all.Length - 1);
                    if (to >= me) to++;
                    long seq = traffic.NextSeq(me, to);
                    mine++;
                    await client.SendMessageAsync(all[to].Jid, $"m{me}-{to}-{seq}", $"{me} {seq}");
                }
            }
            else
            {
                traffic.MarkStopped(me);
                if (client.Unacked > 0 && clock.Elapsed - lastRequest > TimeSpan.FromMilliseconds(200))
                {
                    lastRequest = clock.Elapsed;
                    await client.RequestAckAsync();
                }
            }

            var stanza = await client.NextStanzaAsync(TimeSpan.FromMilliseconds(5));
            if (stanza is not null && stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") != "error")
            {
                traffic.Record(me, stanza.Element(XmppSocketClient.Client + "body")?.Value ?? "");
            }
        }
    }

    /// <summary>What was sent and received per (sender, receiver) pair; each row written by one client loop only.</summary>
    private sealed class Traffic(int count)
    {
        private readonly long[,] _sent = new long[count, count];
        private readonly List<long>[,] _received = CreateLists(count);
        private readonly bool[] _stopped = new bool[count];
        private readonly List<string> _unparsed = [];

        public volatile bool StopSending;
        public volatile bool Finished;

        private static List<long>[,] CreateLists(int n)
        {
            var lists = new List<long>[n, n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++) lists[i, j] = [];
            }

            return lists;
        }

        public long NextSeq(int from, int to) => Interlocked.Increment(ref _sent[from, to]);

        public void MarkStopped(int me) => Volatile.Write(ref _stopped[me], true);

        public void Record(int receiver, string body)
        {
            var parts = body.Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int from) || !long.TryParse(parts[1], out long seq))
            {
                lock (_unparsed) _unparsed.Add($"{receiver}: unexpected body '{body}'");
                return;
            }

            var list = _received[receiver, from];
            lock (list) list.Add(seq);
        }

        /// <summary>All loops stopped sending, nothing is unacked, every receiver has every message.</summary>
        public bool Settled(ResumingClient[] clients)
        {
            for (int i = 0; i < count; i++)
            {
                if (!Volatile.Read(ref _stopped[i]) || clients[i].Unacked > 0) return false;
            }

            for (int r = 0; r < count; r++)
            {
                for (int s = 0; s < count; s++)
                {
                    var list = _received[r, s];
                    lock (list)
                    {
                        if (list.Count < Interlocked.Read(ref _sent[s, r])) return false;
                    }
                }
            }

            return true;
        }

        public Report Check()
        {
            long sent = 0, received = 0, lost = 0, duplicated = 0, outOfOrder = 0;
            var problems = new List<string>(_unparsed);
            for (int r = 0; r < count; r++)
            {
                for (int s = 0; s < count; s++)
                {
                    long total = _sent[s, r];
                    var list = _received[r, s];
                    sent += total;
                    received += list.Count;
                    var distinct = list.ToHashSet();
                    long missing = 0;
                    for (long seq = 1; seq <= total; seq++)
                    {
                        if (!distinct.Contains(seq)) missing++;
                    }

                    long dup = list.Count - distinct.Count;
                    long inversions = list.Zip(list.Skip(1)).Count(p => p.Second < p.First);
                    lost += missing;
                    duplicated += dup;
                    outOfOrder += inversions;
                    if (missing + dup + inversions > 0)
                    {
                        problems.Add($"cut{s} -> cut{r}: sent {total}, received {list.Count}, missing {missing}, duplicated {dup}, out of order {inversions}; " +
                            $"first missing {Enumerable.Range(1, (int)total).FirstOrDefault(q => !distinct.Contains(q))}");
                    }
                }
            }

            return new Report(sent, received, lost, duplicated, outOfOrder, problems);
        }
    }

    private sealed record Report(long Sent, long Received, long Lost, long Duplicated, long OutOfOrder, List<string> Problems);
}
