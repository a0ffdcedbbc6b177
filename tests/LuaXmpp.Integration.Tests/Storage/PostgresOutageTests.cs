using System.Diagnostics;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// PostgreSQL goes down for 10 s in the middle of archiving (a clean stop of the server, as a
/// restart or failover does) while alice streams numbered messages to bob with mod_mam on.
/// Batched durability: every message bob received is in his archive afterwards (the writer
/// holds and retries its batches; the documented loss window is for a PostgreSQL crash, not a
/// stop). Strict: every received message is archived and every other one came back to alice
/// as an error. Either way LuaXmpp recovers without a restart, and the log tells the outage once.
/// </summary>
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Before = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan After = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(25);

    [PostgresFact]
    public async Task Batched_loses_nothing_delivered_and_recovers()
    {
        var run = await RunAsync(strict: false);
        Assert.Empty(run.Received.Except(run.Archived));
        Assert.Equal(run.Sent, run.Received.Count);
        Assert.Empty(run.Bounced);
    }

    [PostgresFact]
    public async Task Strict_archives_every_delivered_message_and_bounces_the_rest()
    {
        var run = await RunAsync(strict: true);
        Assert.Empty(run.Received.Except(run.Archived));
        Assert.NotEmpty(run.Bounced);
        Assert.Equal(run.Sent, run.Received.Count + run.Bounced.Count);
        Assert.Empty(run.Received.Intersect(run.Bounced));
    }

    private sealed record Run(int Sent, HashSet<int> Received, HashSet<int> Bounced, HashSet<int> Archived);

    private async Task<Run> RunAsync(bool strict)
    {
        await using var pg = await PostgresServer.StartAsync();
        await using var server = await ServerProcess.StartAsync(output, config => config
            .Set("storage", ServerConfig.Lua("sql"))
            .Set("sql", pg.SqlOption())
            .Set("archive_durability", ServerConfig.Lua(strict ? "strict" : "batched"))
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam")));
        await using var bob = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await bob.LoginAsync(server.Host, "bob", "pw", register: true);
        await using var alice = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await alice.LoginAsync(server.Host, "alice", "pw", register: true, presence: false);

        var received = new HashSet<int>();
        var bounced = new HashSet<int>();
        using var stop = new CancellationTokenSource();
        var bobReads = CollectAsync(bob, received, e => e.Attribute("type")?.Value != "error", stop.Token);
        var aliceReads = CollectAsync(alice, bounced, e => e.Attribute("type")?.Value == "error", stop.Token);

        int sent = 0;
        var clock = Stopwatch.StartNew();
        var total = Before + Outage + After;
        bool down = false, up = false;
        while (clock.Elapsed < total)
        {
            if (!down && clock.Elapsed >= Before)
            {
                down = true;
                await pg.StopAsync();
            }
            if (!up && clock.Elapsed >= Before + Outage)
            {
                up = true;
                await pg.RestartAsync();
            }
            await alice.SendAsync($"<message to='bob@localhost' type='chat' id='m-{sent}'><body>m-{sent}</body></message>");
            sent++;
            await Task.Delay(Pace);
        }

        // Everything sent is delivered or bounced once the writer caught up; bounded wait.
        var settle = Stopwatch.StartNew();
        while (Count(received, bounced) < sent && settle.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(200);
        stop.Cancel();
        await Task.WhenAll(bobReads, aliceReads);

        var archived = await ArchivedAsync(pg, sent, received);
        string log = File.ReadAllText(server.LogPath);
        server.Check(() =>
        {
            Assert.Equal(1, Occurrences(log, "Storage writes failing on PostgreSQL"));
            Assert.Contains("Storage writes work again on PostgreSQL", log);
            Assert.Contains(sent - 1, received.Union(bounced)); // the last message, after the restart, got through
        });
        output.WriteLine($"sent {sent}, received {received.Count}, bounced {bounced.Count}, archived for bob {archived.Count}");
        return new Run(sent, received, bounced, archived);
    }

    private static int Count(HashSet<int> a, HashSet<int> b)
    {
        lock (a) lock (b) return a.Count + b.Count;
    }

    /// <summary>Bob's archived message numbers, once the writer has committed every received one (bounded wait).</summary>
    private static async Task<HashSet<int>> ArchivedAsync(PostgresServer pg, int sent, HashSet<int> received)
    {
        HashSet<int> archived = [];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var rows = await pg.PsqlAsync("""SELECT substring(value from '<body>m-([0-9]+)</body>') FROM prosodyarchive WHERE "user" = 'bob' AND store = 'archive'""");
            archived = rows.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
            if (received.IsSubsetOf(archived)) break;
            await Task.Delay(500);
        }
        return archived;
    }

    private static async Task CollectAsync(XmppSocketClient client, HashSet<int> into, Func<XElement, bool> counts, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var e = await client.NextAsync(TimeSpan.FromMilliseconds(500));
            if (e is null)
            {
                if (client.ClosedByServer) return;
                continue;
            }
            if (e.Name.LocalName != "message" || !counts(e)) continue;
            var id = e.Attribute("id")?.Value;
            if (id is null || !id.StartsWith("m-", StringComparison.Ordinal)) continue;
            lock (into) into.Add(int.Parse(id[2..]));
        }
    }

    private static int Occurrences(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
