using System.Diagnostics;
using LuaXmpp.Archive;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// The archive writer and query path on their own: sustained archived messages per second,
/// and page queries (as mod_mam asks them: 51 items backwards from an id, with the total) at
/// the start, middle and end of the archive.
/// </summary>
internal static class WriterBench
{
    private const string Host = "localhost";

    public static XmlElement Message(string to, int i)
    {
        var m = new XmlElement("message", "jabber:client");
        m["to"] = to;
        m["from"] = "sender@localhost/phone";
        m["type"] = "chat";
        m["id"] = "msg-" + i;
        m.AddTextChild("body", $"Message number {i}: the quick brown fox jumps over the lazy dog.");
        m.AddChild("request", "urn:xmpp:receipts");
        return m;
    }

    /// <param name="postgresDatabase">The database on PostgreSQL runs (SQLite: prosody.sqlite in dataPath).</param>
    public static StorageManager OpenStorage(string dataPath, string postgresDatabase = "luaxmpp")
    {
        var options = new Dictionary<string, object?> { ["storage"] = "sql" };
        if (BenchDatabase.SqlOption(postgresDatabase) is { } sql) options["sql"] = sql;
        return new(ServerConfig.Create(options, Host), dataPath);
    }

    /// <summary>Appends <paramref name="count"/> messages spread over <paramref name="users"/> users; returns msg/s and each user's ids in order.</summary>
    public static async Task<(double Rate, List<string> Ids)> FillAsync(ArchiveService service, int count, int users, string prefix, long firstWhen, string database = "luaxmpp")
    {
        const int Window = 20_000; // appends in flight before waiting, so memory stays bounded
        var ids = new List<string>(users == 1 ? count : 0);
        var clock = Stopwatch.StartNew();
        Task last = Task.CompletedTask;
        var pending = new Queue<Task>();
        for (int i = 0; i < count; i++)
        {
            string user = users == 1 ? prefix : prefix + (i % users);
            var r = service.Append(user, Message("peer@localhost", i), firstWhen + i / 100, "peer@localhost");
            if (users == 1) ids.Add(r.Id);
            if (i % 1000 == 999)
            {
                pending.Enqueue(r.Committed);
                if (pending.Count * 1000 >= Window) await pending.Dequeue();
            }
            last = r.Committed;
        }
        await last;
        await service.FlushAsync();
        var rate = count / clock.Elapsed.TotalSeconds;
        await BenchDatabase.AnalyzeAsync(database);
        return (rate, ids);
    }

    public static async Task<Latencies> PageQueriesAsync(ArchiveService service, string user, string? beforeId, int repeats)
    {
        var latencies = new Latencies();
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            var page = await service.QueryAsync(user, new ArchiveQuery { Before = beforeId, Reverse = true, Limit = 51, WantTotal = true });
            latencies.Add(clock.Elapsed);
            if (page.Items.Count == 0) throw new InvalidOperationException("empty page");
        }
        return latencies;
    }

    public static async Task RunAsync(string dir, int bigCount, int spreadCount, int spreadUsers)
    {
        using var storage = OpenStorage(dir);
        await using var service = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions(), TimeProvider.System);

        Console.WriteLine($"== Writer ({BenchDatabase.Name}): {bigCount:N0} messages for one user");
        var (rate, ids) = await FillAsync(service, bigCount, 1, "big", 1_700_000_000);
        Console.WriteLine($"sustained: {rate:N0} archived msg/s ({service.Writer.Batches:N0} transactions, mean batch {service.Writer.Committed / (double)Math.Max(1, service.Writer.Batches):F0})");
        var cold = Stopwatch.StartNew();
        await service.QueryAsync("big", new ArchiveQuery { Reverse = true, Limit = 51, WantTotal = true });
        Console.WriteLine($"first page with a cold total (COUNT over {bigCount:N0}): {cold.Elapsed.TotalMilliseconds:F1} ms");
        foreach (var (name, position) in new[] { ("start", 100), ("middle", bigCount / 2), ("end", bigCount - 1) })
        {
            var l = await PageQueriesAsync(service, "big", ids[position], 200);
            Console.WriteLine($"page query at the {name,-6} (before item {position:N0}): {l}");
        }

        Console.WriteLine($"== Writer: {spreadCount:N0} messages over {spreadUsers:N0} users");
        var before = service.Writer.Batches;
        var (spreadRate, _) = await FillAsync(service, spreadCount, spreadUsers, "u", 1_700_100_000);
        Console.WriteLine($"sustained: {spreadRate:N0} archived msg/s ({service.Writer.Batches - before:N0} transactions)");
        var random = new Random(7);
        var userPages = new Latencies();
        for (int i = 0; i < 300; i++)
        {
            var clock = Stopwatch.StartNew();
            await service.QueryAsync("u" + random.Next(spreadUsers), new ArchiveQuery { Reverse = true, Limit = 51, WantTotal = true });
            userPages.Add(clock.Elapsed);
        }
        Console.WriteLine($"last page of a random user's archive (cold totals): {userPages}");
    }
}
