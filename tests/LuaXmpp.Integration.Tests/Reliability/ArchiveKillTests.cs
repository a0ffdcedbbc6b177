using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dapper;
using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Issue 7, "SIGKILL while archiving under load": senders stream numbered messages to
/// recipients with mod_mam on; at a random moment the server gets <c>kill -9</c>; it is restarted
/// on the same SQLite file, <c>PRAGMA integrity_check</c> must say "ok", and the archive
/// (read straight from the prosodyarchive table) is compared with what the recipients received
/// before the kill.
/// </summary>
/// <remarks>
/// A received message proves the server delivered it. With <c>archive_durability = "strict"</c>
/// delivery waits for the commit, so every received message must be in both archives (the
/// sender's and the recipient's). In the default batched mode delivery does not wait: a kill
/// loses what was appended after the start of the last commit that finished (the batch being
/// committed and the queue behind it). Since batches commit in append order, the loss is a
/// tail: per sender/recipient pair the archived messages must be a prefix of the received ones,
/// and the lost ones must all have arrived within a short window before the kill.
/// </remarks>
public sealed partial class ArchiveKillTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const int Pairs = 4;
    private const int Chunk = 10;     // messages per write
    private const int InFlight = 100; // most sent-but-not-received messages per pair
    private const int MaxBatch = 512; // archive_max_batch (default)

    /// <summary>
    /// Loose ceiling on how long before the kill a lost message may have arrived in batched mode,
    /// only to catch a writer that stalls (the exact check is against the server log, see
    /// <see cref="Verify"/>). Commits take 1–140 ms on this shared 2-core machine.
    /// </summary>
    private static readonly TimeSpan StalledWriter = TimeSpan.FromSeconds(5);

    /// <summary>Log timestamps are truncated to milliseconds.</summary>
    private static readonly TimeSpan LogTolerance = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task Sigkill_StrictDurability_ArchiveHoldsEveryDeliveredMessage()
    {
        var summary = await RunAsync(strict: true);
        Assert.Equal(0, summary.MaxMissing);
        Assert.Equal(0, summary.MaxMissingForSender);
    }

    [Fact]
    public async Task Sigkill_BatchedDurability_LosesOnlyTheLastCommitWindow()
    {
        var summary = await RunAsync(strict: false);
        Assert.True(summary.MaxWindow <= StalledWriter,
            $"received-but-unarchived messages arrived up to {summary.MaxWindow.TotalMilliseconds:F0} ms before the kill");
    }

    /// <summary>
    /// Strict mode when the commit fails (another connection holds SQLite's write lock until
    /// the writer's busy timeout gives up): the message is not delivered, the sender gets it
    /// back with internal-server-error (type wait), the log says why, and once the lock is gone
    /// messages flow and are archived again.
    /// </summary>
    [Fact]
    public async Task StrictDurability_CommitFails_MessageBouncedNotDelivered()
    {
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam"));
            config.Set("archive_durability", ServerConfig.Lua("strict"));
        });
        await using var bob = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await bob.LoginAsync(Host, "bob", "pw", register: true);
        await using var alice = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await alice.LoginAsync(Host, "alice", "pw", register: true, presence: false);
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='warm'><body>before the lock</body></message>");
        await bob.WaitForAsync(e => (string?)e.Attribute("id") == "warm", "the message before the lock");

        SQLitePCL.Batteries_V2.Init();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");
        XElement bounce;
        await using (var locker = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            await locker.OpenAsync();
            await locker.ExecuteAsync("BEGIN EXCLUSIVE");
            await alice.SendAsync("<message to='bob@localhost' type='chat' id='locked'><body>while locked</body></message>");
            bounce = await alice.WaitForAsync(e => (string?)e.Attribute("id") == "locked", "the bounce", TimeSpan.FromSeconds(60));
            await locker.ExecuteAsync("ROLLBACK");
        }

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>after the lock</body></message>");
        var skipped = new List<XElement>();
        await bob.WaitForAsync(e => (string?)e.Attribute("id") == "after", "the message after the lock", TimeSpan.FromSeconds(30), skipped);
        bool logged = await ServerLog.ContainsAsync(server, "its archive commit failed");
        server.Check(() =>
        {
            Assert.Equal("error", (string?)bounce.Attribute("type"));
            Assert.Equal("internal-server-error", XmppSocketClient.ErrorCondition(bounce));
            Assert.Equal("wait", (string?)bounce.Element(XmppSocketClient.Client + "error")?.Attribute("type"));
            Assert.DoesNotContain(skipped, e => (string?)e.Attribute("id") == "locked");
            Assert.True(logged, "no log line for the failed commit");
        });
    }

    private sealed record Summary(int Kills, long Received, int MaxMissing, int MaxMissingForSender, TimeSpan MaxWindow, double MessagesPerSecond);

    /// <summary>A message a recipient got: its number, when (test clock, and wall clock to compare with the server log).</summary>
    private sealed record Received(int Number, TimeSpan At, DateTime Wall);

    /// <summary>
    /// What the server log says about the archive writer during one cycle: how many commits, the
    /// longest, and when the last batch that emptied the queue was taken (null if none).
    /// </summary>
    private sealed record Commits(int Count, double MaxMs, DateTime? LastTaken);

    [GeneratedRegex(@"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) archive\s+debug Committed (\d+) archived message\(s\) taken at (\d\d:\d\d:\d\d\.\d{3}) in ([\d.]+) ms")]
    private static partial Regex CommitLine();

    /// <summary>The writer's commits logged since <paramref name="since"/> (the log is flushed per line, so it survives the kill).</summary>
    private static Commits ReadCommits(ServerProcess server, DateTime since)
    {
        int count = 0;
        double max = 0;
        DateTime? last = null;
        using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var m = CommitLine().Match(line);
            if (!m.Success) continue;
            var end = DateTime.SpecifyKind(DateTime.ParseExact(m.Groups[1].Value, "yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);
            if (end < since) continue;
            double ms = double.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
            var taken = end.Date + TimeSpan.ParseExact(m.Groups[3].Value, @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture);
            if (taken > end) taken -= TimeSpan.FromDays(1); // taken before midnight, logged after
            count++;
            max = Math.Max(max, ms);
            // A full batch left items queued behind it, older than its taking; only a batch that
            // emptied the queue says "everything appended before me is committed".
            if (int.Parse(m.Groups[2].Value) < MaxBatch) last = taken;
        }

        return new Commits(count, max, last);
    }

    private async Task<Summary> RunAsync(bool strict)
    {
        int kills = ReliabilitySize.Pick("ARCHIVE_KILLS", ci: 3, full: 100);
        int seed = Environment.TickCount;
        var random = new Random(seed);
        string mode = strict ? "strict" : "batched";
        output.WriteLine($"mode {mode}, {kills} kills, seed {seed}");

        await using var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam"));
            config.Set("archive_durability", ServerConfig.Lua(mode));
        });
        await server.StartAsync();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");

        long totalReceived = 0;
        double loadSeconds = 0;
        int maxMissing = 0, maxMissingForSender = 0;
        var maxWindow = TimeSpan.Zero;
        double maxCommitMs = 0;
        for (int cycle = 1; cycle <= kills; cycle++)
        {
            var load = await LoadAndKillAsync(server, cycle, register: cycle == 1, random);
            await server.StartAsync();
            var check = Verify(file, cycle, load);
            totalReceived += load.Total;
            loadSeconds += load.Duration.TotalSeconds;
            maxMissing = Math.Max(maxMissing, check.Missing);
            maxMissingForSender = Math.Max(maxMissingForSender, check.MissingForSender);
            if (check.Window > maxWindow) maxWindow = check.Window;
            maxCommitMs = Math.Max(maxCommitMs, load.Commits.MaxMs);
            output.WriteLine($"kill {cycle}: after {load.Duration.TotalMilliseconds:F0} ms of load, {load.Total} received; "
                + $"integrity_check {check.Integrity}; received but not in the recipient's archive: {check.Missing} "
                + $"(arrived up to {check.Window.TotalMilliseconds:F0} ms before the kill), not in the sender's: {check.MissingForSender}; "
                + $"archived but not received: {check.ArchivedNotReceived}; {load.Commits.Count} commits logged, longest {load.Commits.MaxMs:F1} ms");
            server.Check(() =>
            {
                Assert.Equal("ok", check.Integrity);
                Assert.True(load.Total > 0, "no message was delivered before the kill");
                Assert.True(check.OrderProblems.Count == 0, string.Join("\n", check.OrderProblems));
                Assert.True(check.Holes.Count == 0, string.Join("\n", check.Holes));
                Assert.True(check.BeforeLastCommit.Count == 0, string.Join("\n", check.BeforeLastCommit.Take(5)));
            });
        }

        double rate = loadSeconds > 0 ? totalReceived / loadSeconds : 0;
        output.WriteLine($"SUMMARY mode={mode} kills={kills} received={totalReceived} maxMissing={maxMissing} "
            + $"maxMissingForSender={maxMissingForSender} maxWindowMs={maxWindow.TotalMilliseconds:F0} longestCommitMs={maxCommitMs:F1} throughput={rate:F0} msg/s");
        return new Summary(kills, totalReceived, maxMissing, maxMissingForSender, maxWindow, rate);
    }

    private sealed record Load(List<Received>[] PerPair, TimeSpan Duration, TimeSpan KilledAt, Commits Commits)
    {
        public int Total => PerPair.Sum(p => p.Count);
    }

    private static string Sender(int pair) => $"sender{pair}";

    private static string Recipient(int pair) => $"recipient{pair}";

    private static string Body(int cycle, int pair, int n) => $"k{cycle} p{pair} n{n}";

    /// <summary>Logs everyone in, runs the load, kills the server at a random moment; returns what each recipient got and when.</summary>
    private async Task<Load> LoadAndKillAsync(ServerProcess server, int cycle, bool register, Random random)
    {
        var senders = new XmppSocketClient[Pairs];
        var recipients = new XmppSocketClient[Pairs];
        try
        {
            for (int p = 0; p < Pairs; p++)
            {
                recipients[p] = await XmppSocketClient.ConnectAsync(server.C2sPort);
                await recipients[p].LoginAsync(Host, Recipient(p), "pw", register: register);
                senders[p] = await XmppSocketClient.ConnectAsync(server.C2sPort);
                await senders[p].LoginAsync(Host, Sender(p), "pw", register: register, presence: false);
            }

            var cycleStarted = DateTime.UtcNow;
            var received = Enumerable.Range(0, Pairs).Select(_ => new List<Received>()).ToArray();
            var counts = new int[Pairs];
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, Pairs).Select(p => Task.Run(() => ReadAsync(recipients[p], cycle, p, received[p], counts, clock))).ToArray();
            var writers = Enumerable.Range(0, Pairs).Select(p => Task.Run(() => SendAsync(senders[p], cycle, p, counts, stop.Token))).ToArray();

            // A random moment once messages flow: between 0.3 and 1.5 s of load.
            while (Volatile.Read(ref counts[0]) == 0 && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(5);
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 1500)));
            var duration = clock.Elapsed;
            server.Kill();
            var killedAt = clock.Elapsed;
            stop.Cancel();
            await Task.WhenAll(writers);
            await Task.WhenAll(readers);
            return new Load(received, duration, killedAt, ReadCommits(server, cycleStarted));
        }
        finally
        {
            foreach (var c in senders.Concat(recipients)) if (c is not null) await c.DisposeAsync();
        }
    }

    private static async Task SendAsync(XmppSocketClient sender, int cycle, int pair, int[] counts, CancellationToken stop)
    {
        int sent = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (sent - Volatile.Read(ref counts[pair]) >= InFlight)
                {
                    await Task.Delay(1, stop);
                    continue;
                }

                var to = $"{Recipient(pair)}@{Host}";
                await sender.SendAsync(string.Concat(Enumerable.Range(sent + 1, Chunk)
                    .Select(n => $"<message to='{to}' type='chat' id='m{n}'><body>{Body(cycle, pair, n)}</body></message>")));
                sent += Chunk;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The server died under the writer: expected.
        }
    }

    private static async Task ReadAsync(XmppSocketClient recipient, int cycle, int pair, List<Received> into, int[] counts, Stopwatch clock)
    {
        var prefix = $"k{cycle} p{pair} n";
        while (true)
        {
            XElement? element;
            try
            {
                element = await recipient.NextAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return;
            }

            if (element is null) return; // stream ended (the kill) or nothing for 30 s
            if (element.Name.LocalName != "message") continue;
            var body = element.Element(XmppSocketClient.Client + "body")?.Value;
            if (body is null || !body.StartsWith(prefix, StringComparison.Ordinal)) continue;
            into.Add(new Received(int.Parse(body[prefix.Length..]), clock.Elapsed, DateTime.UtcNow));
            Interlocked.Increment(ref counts[pair]);
        }
    }

    private sealed record Check(string Integrity, int Missing, int MissingForSender, int ArchivedNotReceived, TimeSpan Window,
        List<string> OrderProblems, List<string> Holes, List<string> BeforeLastCommit);

    [GeneratedRegex(@"k(\d+) p(\d+) n(\d+)")]
    private static partial Regex BodyPattern();

    /// <summary>
    /// integrity_check, then the archive of every pair compared with what was received. A lost
    /// message must have been appended after the last logged commit that emptied the writer's
    /// queue took its batch (batches commit in order, so anything appended earlier is in a
    /// committed batch); it was received after its append, so after that moment too.
    /// </summary>
    private static Check Verify(string file, int cycle, Load load)
    {
        SQLitePCL.Batteries_V2.Init();
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        db.Open();
        db.Execute("PRAGMA busy_timeout=5000;");
        var integrity = string.Join("; ", db.Query<string>("PRAGMA integrity_check;"));
        var rows = db.Query<(string User, string Value)>(
            """SELECT "user", "value" FROM "prosodyarchive" WHERE "host"=@host AND "store"='archive' AND "value" LIKE @like""",
            new { host = Host, like = $"%k{cycle} p%" }).ToList();

        // (pair, n) archived for the recipient and for the sender.
        var forRecipient = new HashSet<(int, int)>();
        var forSender = new HashSet<(int, int)>();
        foreach (var (user, value) in rows)
        {
            var m = BodyPattern().Match(value);
            if (!m.Success || int.Parse(m.Groups[1].Value) != cycle) continue;
            var key = (int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
            if (user.StartsWith("recipient", StringComparison.Ordinal)) forRecipient.Add(key);
            else if (user.StartsWith("sender", StringComparison.Ordinal)) forSender.Add(key);
        }

        int missing = 0, missingForSender = 0, receivedTotal = 0;
        var window = TimeSpan.Zero;
        var order = new List<string>();
        var holes = new List<string>();
        var late = new List<string>();
        for (int p = 0; p < Pairs; p++)
        {
            var got = load.PerPair[p];
            receivedTotal += got.Count;
            // Each sender's messages arrive in order, once (the session runner keeps them in line).
            for (int i = 0; i < got.Count; i++)
            {
                if (got[i].Number != i + 1) { order.Add($"pair {p}: position {i + 1} got n{got[i].Number}"); break; }
            }

            bool lostOne = false;
            foreach (var r in got)
            {
                if (!forSender.Contains((p, r.Number))) missingForSender++;
                if (forRecipient.Contains((p, r.Number)))
                {
                    // Batches commit in order: nothing archived after something lost.
                    if (lostOne) { holes.Add($"pair {p}: n{r.Number} archived after an earlier message was lost"); break; }
                    continue;
                }

                lostOne = true;
                missing++;
                if (load.Commits.LastTaken is { } taken && r.Wall < taken - LogTolerance)
                    late.Add($"pair {p}: n{r.Number} received at {r.Wall:HH:mm:ss.fff}, before the last logged commit that emptied the queue took its batch ({taken:HH:mm:ss.fff}), yet not archived");
                var before = load.KilledAt - r.At;
                if (before > window) window = before;
            }
        }

        int archivedNotReceived = forRecipient.Count - (receivedTotal - missing);
        return new Check(integrity, missing, missingForSender, archivedNotReceived, window, order, holes, late);
    }
}
