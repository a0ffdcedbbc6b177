using System.Diagnostics;
using System.Xml.Linq;
using Dapper;
using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Faults the server must survive without losing anything: a SIGTERM with sessions online, a
/// storage that stops accepting writes, and a client that stops reading while another floods it.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private const string Host = "localhost";

    private static async Task<XmppSocketClient> LoginAsync(ServerProcess server, string user, bool register, bool presence = true)
    {
        var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(Host, user, "pw-" + user, register: register, presence: presence);
        return client;
    }

    private static string Body(XElement message) => message.Element(XmppSocketClient.Client + "body")?.Value ?? "";

    /// <summary>
    /// Messages to an offline user that the server acknowledged (a ping sent after them was
    /// answered) are in offline storage after a SIGTERM and a restart — every one, once.
    /// </summary>
    [Fact]
    public async Task Sigterm_WithSessionsOnline_KeepsEveryOfflineMessage()
    {
        int count = ReliabilitySize.Pick(ci: 200, full: 5_000);
        await using var server = await ServerProcess.StartAsync(output);
        await using (var bob = await LoginAsync(server, "bob", register: true))
        {
        }

        await using (var alice = await LoginAsync(server, "alice", register: true))
        await using (var carol = await LoginAsync(server, "carol", register: true))
        {
            var burst = string.Concat(Enumerable.Range(1, count).Select(i => $"<message to='bob@localhost' type='chat'><body>offline {i}</body></message>"));
            await alice.SendAsync(burst);
            Assert.True(await alice.PingAsync(Host, "after-burst", TimeSpan.FromSeconds(60)), "the server did not answer after the burst");
            await server.StopAsync(); // SIGTERM while alice and carol are online
        }

        var exitCode = server.ExitCode;
        await server.StartAsync();
        await using var bobAgain = await LoginAsync(server, "bob", register: false);
        var bodies = new List<string>();
        while (bodies.Count < count)
        {
            var message = await bobAgain.NextAsync(TimeSpan.FromSeconds(10));
            if (message is null) break;
            if (message.Name.LocalName == "message") bodies.Add(Body(message));
        }

        var extra = await bobAgain.NextAsync(TimeSpan.FromSeconds(1));
        var expected = Enumerable.Range(1, count).Select(i => $"offline {i}").ToList();
        int outOfOrder = bodies.Where((b, i) => i > 0 && Number(b) < Number(bodies[i - 1])).Count();
        output.WriteLine($"offline messages after restart: {bodies.Count} of {count}, {outOfOrder} out of order; exit code after SIGTERM: {exitCode}");
        server.Check(() =>
        {
            Assert.Equal(0, exitCode);
            // Nothing lost, nothing twice. Order is not asserted: see OfflineMessages_KeepSendOrder.
            Assert.Equal(expected, bodies.Order(Comparer<string>.Create((a, b) => Number(a).CompareTo(Number(b)))));
            Assert.True(extra is null || extra.Name.LocalName != "message", "a message was delivered twice");
        });
    }

    private static int Number(string body) => int.Parse(body.Split(' ')[1]);

    /// <summary>
    /// RFC 6121 §8.5.2.1.1 implies offline messages come back as they were sent. A burst to
    /// several offline recipients, interleaved, from two senders: each recipient gets each
    /// sender's messages complete and in send order.
    /// </summary>
    [Fact]
    public async Task OfflineMessages_KeepSendOrder()
    {
        int perPair = ReliabilitySize.Pick("OFFLINE_ORDER", ci: 250, full: 2_500);
        string[] recipients = ["bob", "carol", "dave"];
        await using var server = await ServerProcess.StartAsync(output);
        foreach (var name in recipients)
        {
            await using (await LoginAsync(server, name, register: true))
            {
            }
        }

        await using var alice = await LoginAsync(server, "alice", register: true);
        await using var erin = await LoginAsync(server, "erin", register: true);
        var clock = Stopwatch.StartNew();
        string Burst(string sender) => string.Concat(Enumerable.Range(1, perPair).SelectMany(i =>
            recipients.Select(r => $"<message to='{r}@localhost' type='chat'><body>{sender} {i}</body></message>")));
        await Task.WhenAll(alice.SendAsync(Burst("alice")), erin.SendAsync(Burst("erin")));
        Assert.True(await alice.PingAsync(Host, "after-burst", TimeSpan.FromSeconds(60)));
        Assert.True(await erin.PingAsync(Host, "after-burst", TimeSpan.FromSeconds(60)));
        var stored = clock.Elapsed;

        var problems = new List<string>();
        int swapped = 0;
        foreach (var name in recipients)
        {
            await using var recipient = await LoginAsync(server, name, register: false);
            var bodies = new List<string>();
            while (bodies.Count < 2 * perPair && await recipient.NextAsync(TimeSpan.FromSeconds(10)) is { } message)
            {
                if (message.Name.LocalName == "message") bodies.Add(Body(message));
            }

            foreach (var sender in new[] { "alice", "erin" })
            {
                var got = bodies.Where(b => b.StartsWith(sender + " ", StringComparison.Ordinal)).Select(Number).ToList();
                swapped += got.Where((n, i) => i > 0 && n < got[i - 1]).Count();
                if (!got.SequenceEqual(Enumerable.Range(1, perPair)))
                {
                    problems.Add($"{name} from {sender}: {got.Count} of {perPair}, first difference at {got.Zip(Enumerable.Range(1, perPair)).TakeWhile(p => p.First == p.Second).Count()}");
                }
            }
        }

        output.WriteLine($"{2 * perPair * recipients.Length} offline messages stored in {stored.TotalSeconds:F1} s; {swapped} out of order; problems: {string.Join("; ", problems)}");
        server.Check(() => Assert.Empty(problems));
    }

    /// <summary>
    /// Another process holds SQLite's write lock (BEGIN EXCLUSIVE). Writes time out: the log says
    /// so, a roster set gets an error reply, an offline message is bounced rather than silently
    /// dropped, and the server stays up. Once the lock goes, storage works again.
    /// </summary>
    [Fact]
    public async Task LockedDatabase_GivesStanzaErrors_AndServerRecovers()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await using (await LoginAsync(server, "bob", register: true))
        {
        }

        await using var alice = await LoginAsync(server, "alice", register: true);
        SQLitePCL.Batteries_V2.Init();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");

        XElement rosterReply, messageReply;
        bool aliveWhileLocked;
        await using (var locker = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            await locker.OpenAsync();
            await locker.ExecuteAsync("BEGIN EXCLUSIVE");
            await alice.SendAsync("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='dave@localhost' name='Dave'/></query></iq>");
            await alice.SendAsync("<message to='bob@localhost' type='chat' id='m1'><body>while locked</body></message>");
            await alice.SendAsync($"<iq type='get' id='p1' to='{Host}'><ping xmlns='urn:xmpp:ping'/></iq>");
            // A session's stanzas are handled in order (one pass each, as in Prosody), so the
            // replies to r1 and m1 come before the pong, once their writes gave up.
            var before = new List<XElement>();
            var pong = await alice.WaitForAsync(e => (string?)e.Attribute("id") == "p1", "the ping reply while locked", TimeSpan.FromSeconds(60), before);
            aliveWhileLocked = (string?)pong.Attribute("type") == "result";
            rosterReply = before.FirstOrDefault(e => (string?)e.Attribute("id") == "r1")
                ?? await alice.WaitForAsync(e => (string?)e.Attribute("id") == "r1", "roster set reply", TimeSpan.FromSeconds(60));
            messageReply = before.FirstOrDefault(e => (string?)e.Attribute("id") == "m1")
                ?? await alice.WaitForAsync(e => (string?)e.Attribute("id") == "m1", "an error for the unstorable message", TimeSpan.FromSeconds(60));
            await locker.ExecuteAsync("ROLLBACK");
        }

        await alice.SendAsync("<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='dave@localhost' name='Dave'/></query></iq>");
        var recovered = await alice.WaitForAsync(e => (string?)e.Attribute("id") == "r2", "roster set after the lock", TimeSpan.FromSeconds(30));
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='m2'><body>after the lock</body></message>");
        Assert.True(await alice.PingAsync(Host, "p2"));
        await using var bob = await LoginAsync(server, "bob", register: false);
        var offline = await bob.WaitForAsync(e => e.Name.LocalName == "message", "the message stored after the lock");
        bool errorLogged = await ServerLog.ContainsAsync(server, "database is locked");

        output.WriteLine($"roster reply while locked: {rosterReply}\nmessage reply while locked: {messageReply}");
        server.Check(() =>
        {
            Assert.True(aliveWhileLocked, "the server did not answer a ping while storage was locked");
            Assert.Equal("error", (string?)rosterReply.Attribute("type"));
            Assert.Contains(XmppSocketClient.ErrorCondition(rosterReply), new[] { "internal-server-error", "resource-constraint" });
            Assert.Equal("error", (string?)messageReply.Attribute("type"));
            Assert.Contains(XmppSocketClient.ErrorCondition(messageReply), new[] { "internal-server-error", "resource-constraint", "service-unavailable" });
            Assert.True(errorLogged, "no 'database is locked' error in the log");
            Assert.Equal("result", (string?)recovered.Attribute("type"));
            Assert.Equal("after the lock", Body(offline));
            Assert.Null(server.ExitCode);
        });
    }

    /// <summary>
    /// A client that stops reading while another floods it with small messages: the server
    /// queues at most network_settings.max_send_buffer_size bytes (16 MiB by default) that the
    /// client's socket did not take, then disconnects it; its memory stays bounded and the sender
    /// keeps being served. (Large stanzas: SlowReaderTests.)
    /// </summary>
    [Fact]
    public async Task DeadReader_IsDisconnected_AndServerMemoryStaysBounded()
    {
        const int BodyBytes = 1_000;
        int messages = ReliabilitySize.Pick(ci: 40_000, full: 200_000);
        await using var server = await ServerProcess.StartAsync(output);
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        await using var reader = await LoginAsync(server, "sleepy", register: true);
        await using var sender = await LoginAsync(server, "flooder", register: true);
        long baseline = ServerMemory.RssKib(pid);
        long peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, ServerMemory.RssKib(pid));
                await Task.Delay(50);
            }
        });

        // The reader never reads again: its socket buffers fill, then the server's queue.
        var body = new string('z', BodyBytes);
        var clock = Stopwatch.StartNew();
        const int Batch = 500;
        for (int sent = 0; sent < messages; sent += Batch)
        {
            await sender.SendAsync(string.Concat(Enumerable.Range(sent, Batch).Select(i => $"<message to='{reader.Jid}' type='chat'><body>{i} {body}</body></message>")));
        }

        bool senderAlive = await sender.PingAsync(Host, "alive", TimeSpan.FromSeconds(60));
        bool disconnectLogged = await ServerLog.ContainsAsync(server, "Client is not reading", TimeSpan.FromSeconds(30));
        var (readerClosed, _) = await reader.ReadToEndAsync(TimeSpan.FromSeconds(60));
        sampling.Cancel();
        await sampler;
        bool senderStillAlive = await sender.PingAsync(Host, "alive2");

        long growthMib = (peak - baseline) / 1024;
        output.WriteLine($"sent {messages} x {BodyBytes} B in {clock.Elapsed.TotalSeconds:F1} s; server RSS baseline {baseline / 1024} MiB, peak {peak / 1024} MiB (+{growthMib} MiB)");
        server.Check(() =>
        {
            Assert.True(senderAlive && senderStillAlive, "the sender stopped being served");
            Assert.True(disconnectLogged, "no 'Client is not reading' line in the log");
            Assert.Equal(1, ServerLog.Count(server, "Client is not reading"));
            Assert.True(readerClosed, "the dead reader was never disconnected");
            // The queue holds 16 MiB of serialized bytes (plus ~100 bytes per element); 300 MiB
            // leaves generous room for the runtime and still catches unbounded growth (the full
            // run pushes 200 MB through).
            Assert.True(growthMib < 300, $"server RSS grew by {growthMib} MiB");
        });
    }
}
