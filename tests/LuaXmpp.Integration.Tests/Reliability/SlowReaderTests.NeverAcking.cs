using System.Diagnostics;
using Dapper;
using LuaXmpp.Tests.StreamManagement;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Reliability;

public sealed partial class SlowReaderTests
{
    // Stated bound on the server's RSS growth while one session that never acks receives the
    // flood (30 MB in CI, 500 MB with --full): its unacked queue (500 stanzas / 1 000 KiB, held
    // as UTF-8), at most four spill batches (1 MiB) waiting for offline storage, what the
    // session's end turns back into elements and Lua stanzas, gen0 (8 MiB:
    // System.GC.Gen0MaxBudget in the server's runtimeconfig) and the C heap (Lua, SQLite).
    // Measured +30 to +34 MiB at CI size (4 runs) and +26 MiB at 500 MB (2 runs, load 35-60); before the UTF-8 queue and
    // its 2 KiB-per-stanza bound +60 to +81 MiB at CI size and +72 to +78 MiB at 500 MB, and
    // earlier still +276 MiB at 120 MB, 3.5 GB for 336 MB. See docs/RELIABILITY.md.
    private const long NeverAckingGrowthMib = 48;

    /// <summary>
    /// Issue 16, item 2: a stream-managed session that reads everything but never acks. What falls
    /// off its unacked queue is handed to offline storage in bounded batches, one at a time, instead
    /// of being held; when storage falls four batches behind, the session is closed
    /// (policy-violation) and later messages go to offline storage in the sender's pass. Server
    /// memory stays flat however much it receives; when the session ends every message it never
    /// acknowledged is in offline storage exactly once (nothing lost, nothing doubled).
    /// </summary>
    [Fact]
    public async Task NeverAckingSession_ReceivingAFlood_MemoryStaysFlat_AndEveryMessageIsOffline()
    {
        const int BodyBytes = 20_000;
        int messages = ReliabilitySize.Pick("NEVER_ACK_MESSAGES", 1_500, 25_000);
        // A short hibernation, so that a server that hibernates the dropped session (Prosody
        // 0.12.3 under --prosody; ours ends it, it overflowed) hands its queue on within the test.
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string> { ["smacks_hibernation_time"] = "5" });
        await SmacksServer.RegisterAsync(server, "deaf", "flooder");
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        var reader = await LoginAsync(server, "deaf", register: false, presence: false, password: SmacksServer.Password);
        await reader.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        await reader.WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        await using var sender = await LoginAsync(server, "flooder", register: false, password: SmacksServer.Password);
        await using var sampler = RssSampler.Start(pid);

        var received = new List<int>();
        string? streamError = null;
        var reading = Task.Run(async () =>
        {
            // Reads every element and answers no <r/>: the client never acknowledges anything.
            while (received.Count < messages)
            {
                var element = await reader.NextAsync(TimeSpan.FromSeconds(60));
                if (element is null) return;
                if (element.Name.LocalName == "error" && element.Name.NamespaceName == "http://etherx.jabber.org/streams")
                    streamError = element.Elements().FirstOrDefault()?.Name.LocalName;
                if (FloodIndex(element) is { } n) received.Add(n);
            }
        });
        var clock = Stopwatch.StartNew();
        await SendFloodAsync(sender, reader.Jid!, 0, messages, new string('d', BodyBytes));
        // The sender's ping is answered once the server has handled the whole flood.
        bool senderServed = await sender.PingAsync(Host, "flooded", TimeSpan.FromSeconds(ReliabilitySize.Pick(120, 2400)));
        await reading;
        double seconds = clock.Elapsed.TotalSeconds;
        var (peak, baseline) = await sampler.StopAsync();
        int spillLines = ServerLog.Count(server, "beyond the queue handed to offline storage");
        bool closedForStorage = ServerLog.Count(server, "which is not keeping up; closing the session") > 0;

        // The connection drops without a clean close: the session cannot be resumed (it
        // overflowed), so it ends and its queue goes to offline storage as well.
        await reader.DisposeAsync();
        await sender.PingAsync(Host, "settled");
        // Prosody 0.12.3 (--prosody) keeps only its last 500 unacked stanzas: wait out its
        // hibernation, then until its store settles.
        if (server.Flavor.IsProsody) await Task.Delay(TimeSpan.FromSeconds(10));
        var stored = await WaitForOfflineAsync(server, "deaf", server.Flavor.IsProsody ? null : messages, TimeSpan.FromSeconds(ReliabilitySize.Pick(60, 600)));

        long growthMib = (peak - baseline) / 1024;
        output.WriteLine($"{messages} x {BodyBytes / 1000} KB = {messages * (long)BodyBytes / 1_000_000} MB to a session that never acks, in {seconds:F1} s; " +
            $"read {received.Count} (in order: {received.SequenceEqual(Enumerable.Range(0, received.Count))}), stream error {streamError ?? "none"}, " +
            $"closed because storage fell behind: {closedForStorage}; RSS baseline {baseline / 1024} MiB, peak {peak / 1024} MiB (+{growthMib} MiB); " +
            $"{spillLines} spill batches; offline storage holds {stored.Count}, distinct {stored.Distinct().Count()}, missing {messages - stored.Distinct().Count()}");
        server.Check(() =>
        {
            Assert.True(senderServed, "the sender's ping after the flood was not answered");
            // Everything read came in order; the session may have been closed part-way (storage
            // fell behind), never without saying why.
            Assert.Equal(Enumerable.Range(0, received.Count), received);
            Assert.True(received.Count == messages || streamError == "policy-violation", $"read {received.Count} of {messages}, stream error {streamError}");
            Assert.True(spillLines > 0, "nothing was handed on from the spill");
            Assert.True(growthMib < NeverAckingGrowthMib, $"server RSS grew by {growthMib} MiB");
            // Never acknowledged, so every message is in offline storage exactly once.
            Assert.Equal(Enumerable.Range(0, messages), stored.Order());
        });
    }

    /// <summary>
    /// Issue 16, item 2, when offline storage fails: the messages that fell off a never-acking
    /// session's queue cannot be stored, and each is bounced to its sender with a stanza error
    /// (internal-server-error, as any failed offline write) instead of vanishing; the storage
    /// failure is logged. The store fails for real: a trigger in the server's own SQLite file
    /// refuses offline rows (works as root, no mount needed). Queue of 4: of 8 messages, the
    /// first 4 fall off as one batch (bounced); once the trigger is gone, the session's drop hands
    /// the 4 still queued to offline storage. Nothing lost, nothing both stored and bounced.
    /// </summary>
    [Fact]
    public async Task NeverAckingSession_SpillThatCannotBeStored_IsBouncedToTheSender()
    {
        const int Messages = 8, Queue = 4;
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string>
        {
            ["smacks_max_queue_size"] = Queue.ToString(), ["smacks_hibernation_time"] = "5",
        });
        await SmacksServer.RegisterAsync(server, "deaf", "flooder");
        var reader = await LoginAsync(server, "deaf", register: false, presence: false, password: SmacksServer.Password);
        await reader.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        await reader.WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        await using var sender = await LoginAsync(server, "flooder", register: false, password: SmacksServer.Password);

        SQLitePCL.Batteries_V2.Init();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");
        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        await db.OpenAsync();
        await db.ExecuteAsync("""
            CREATE TRIGGER "fault_offline" BEFORE INSERT ON "prosodyarchive" WHEN NEW."store" = 'offline'
            BEGIN SELECT RAISE(ABORT, 'injected fault: offline storage refuses'); END
            """);

        string deafJid = reader.Jid!;
        await SendFloodAsync(sender, deafJid, 0, Messages, "spilled", batch: Messages);
        // The spilled batch comes back to the sender as errors, one per message.
        var bounces = new List<System.Xml.Linq.XElement>();
        for (int i = 0; i < Queue; i++)
            bounces.Add(await sender.WaitForAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("type") == "error", $"bounce {i + 1}", TimeSpan.FromSeconds(30)));
        bool failureLogged = await ServerLog.ContainsAsync(server, "injected fault", TimeSpan.FromSeconds(10));

        await db.ExecuteAsync("""DROP TRIGGER "fault_offline" """);
        // The drop ends the session (it overflowed, so it cannot hibernate): its queue goes to offline storage.
        await reader.DisposeAsync();
        var stored = await WaitForOfflineAsync(server, "deaf", Messages - Queue, TimeSpan.FromSeconds(30));
        bool senderServed = await sender.PingAsync(Host, "after");
        // An error reply carries the message's id (f<n>), not its body.
        var bounced = bounces.Select(b => int.TryParse(((string?)b.Attribute("id"))?.TrimStart('f'), out int n) ? n : -1).ToList();

        output.WriteLine($"bounced {string.Join(",", bounced)} ({string.Join(",", bounces.Select(XmppSocketClient.ErrorCondition).Distinct())}); " +
            $"offline storage {string.Join(",", stored.Order())}; failure logged {failureLogged}");
        server.Check(() =>
        {
            Assert.True(senderServed);
            Assert.Equal(Enumerable.Range(0, Queue), bounced.Order());
            Assert.All(bounces, b =>
            {
                Assert.Equal("internal-server-error", XmppSocketClient.ErrorCondition(b));
                Assert.Equal(sender.Jid, (string?)b.Attribute("to"));
                Assert.Equal(deafJid, (string?)b.Attribute("from"));
            });
            Assert.True(failureLogged, "the failed offline write is not in the log");
            Assert.Equal(Enumerable.Range(Queue, Messages - Queue), stored.Order());
        });
    }
}
