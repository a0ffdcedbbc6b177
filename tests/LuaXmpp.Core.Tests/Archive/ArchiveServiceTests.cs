using Dapper;
using LuaXmpp.Archive;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Archive;

public sealed class ArchiveServiceTests : IAsyncLifetime
{
    private const string Host = "localhost";

    private readonly TempDirectory _dir = new();
    private readonly ManualTime _time = new();
    private StorageManager _storage = null!;

    public Task InitializeAsync()
    {
        _storage = new StorageManager(ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql" }, Host), _dir.Path);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _storage.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private IArchiveStore Sql() => _storage.OpenArchive(Host, "archive");

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", "jabber:client");
        m["type"] = "chat";
        m.AddTextChild("body", body);
        return m;
    }

    private static string Body(ArchiveItem item) => item.Value.ChildText("body", "jabber:client") ?? "";

    [Fact]
    public async Task Append_ReturnsUniqueIdAtOnce_AndTheItemIsStoredUnderIt()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions(), _time);

        var results = Enumerable.Range(0, 50).Select(i => service.Append("alice", Message("m" + i), 1000 + i, "bob@localhost")).ToList();
        await Task.WhenAll(results.Select(r => r.Committed));
        var found = await service.QueryAsync("alice", new ArchiveQuery());

        Assert.Equal(50, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(results.Select(r => r.Id), found.Items.Select(i => i.Key));
        Assert.Equal("m7", Body(found.Items[7]));
        Assert.Equal(1007, found.Items[7].When);
        Assert.Equal("bob@localhost", found.Items[7].With);
    }

    [Fact]
    public async Task Writer_AppendsQueuedDuringACommit_GoInOneTransaction()
    {
        var store = new GatedArchiveStore(Sql());
        await using var service = new ArchiveService(store, new ArchiveOptions { MaxBatch = 64 }, _time);

        var first = service.Append("alice", Message("first"), 1, "bob@localhost");
        await store.Arrived.Task; // the first commit is in progress and waits
        var queued = Enumerable.Range(0, 100).Select(i => service.Append("u" + (i % 7), Message("q" + i), 2, "x@y")).ToList();
        store.Open();
        await Task.WhenAll(queued.Select(q => q.Committed).Append(first.Committed));

        Assert.Equal([1, 64, 36], store.BatchSizes);
        Assert.Equal(3, service.Writer.Batches);
        Assert.Equal(101, service.Writer.Committed);
    }

    [Fact]
    public async Task Query_RightAfterAppend_WaitsForTheCommitAndSeesIt()
    {
        var store = new GatedArchiveStore(Sql());
        await using var service = new ArchiveService(store, new ArchiveOptions(), _time);

        var appended = service.Append("alice", Message("fresh"), 5, "bob@localhost");
        await store.Arrived.Task;
        var query = service.QueryAsync("alice", new ArchiveQuery { WantTotal = true });
        var otherUser = await service.QueryAsync("carol", new ArchiveQuery()); // not held up by alice's write
        Assert.False(query.IsCompleted);
        store.Open();
        var result = await query;

        Assert.Empty(otherUser.Items);
        Assert.Equal(appended.Id, Assert.Single(result.Items).Key);
        Assert.Equal(1, result.Total);
    }

    [Fact]
    public async Task Total_IsCountedOncePerFilter_ThenMaintainedByAppends()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions(), _time);
        for (int i = 0; i < 10; i++) service.Append("alice", Message("m" + i), 100 + i, i % 2 == 0 ? "bob@localhost" : "carol@localhost");

        var all = await service.QueryAsync("alice", new ArchiveQuery { Limit = 3, WantTotal = true });
        var bob = await service.QueryAsync("alice", new ArchiveQuery { With = "bob@localhost", Limit = 3, WantTotal = true });
        var late = await service.QueryAsync("alice", new ArchiveQuery { Start = 105, Limit = 3, WantTotal = true });
        var counted = service.CountQueries;
        service.Append("alice", Message("new"), 200, "bob@localhost");
        service.Append("alice", Message("new2"), 201, "dave@localhost");
        var page2 = await service.QueryAsync("alice", new ArchiveQuery { After = all.Items[^1].Key, Limit = 3, WantTotal = true });
        var bob2 = await service.QueryAsync("alice", new ArchiveQuery { With = "bob@localhost", WantTotal = true });
        var late2 = await service.QueryAsync("alice", new ArchiveQuery { Start = 105, WantTotal = true });

        Assert.Equal((10, 5, 5), (all.Total, bob.Total, late.Total));
        Assert.Equal(3, counted);
        Assert.Equal(3, service.CountQueries); // no recount for later pages or after appends
        Assert.Equal(12, page2.Total);
        Assert.Equal(6, bob2.Total);
        Assert.Equal(7, late2.Total);
        Assert.Equal(6, bob2.Items.Count);
        Assert.Equal(["m3", "m4", "m5"], page2.Items.Select(Body));
    }

    [Fact]
    public async Task Total_AfterDelete_IsCountedAgain()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions(), _time);
        for (int i = 0; i < 4; i++) service.Append("alice", Message("m" + i), 100 + i, "bob@localhost");
        Assert.Equal(4, (await service.QueryAsync("alice", new ArchiveQuery { WantTotal = true })).Total);

        Assert.Equal(2, await service.DeleteAsync("alice", new ArchiveQuery { End = 101 }));
        var after = await service.QueryAsync("alice", new ArchiveQuery { WantTotal = true });

        Assert.Equal(2, after.Total);
        Assert.Equal(2, service.CountQueries);
    }

    [Fact]
    public async Task CachedTotal_WhenExpiryRemovesItemsWhileThePageIsRead_IsCountedAgain()
    {
        var store = new GatedArchiveStore(Sql());
        store.Open(); // commits pass; only the page read is held
        await using var service = new ArchiveService(store, new ArchiveOptions(), _time);
        await service.Append("alice", Message("short-lived"), 100, "bob@localhost").Committed;
        Assert.Equal(1, (await service.QueryAsync("alice", new ArchiveQuery { WantTotal = true })).Total);

        store.HoldFinds();
        var query = service.QueryAsync("alice", new ArchiveQuery { WantTotal = true });
        await store.FindArrived.Task; // the page read waits, with the cached total 1 in hand
        await service.ExpireAsync(cutoff: 200);
        store.ReleaseFinds();
        var result = await query;

        Assert.Empty(result.Items);
        Assert.Equal(0, result.Total);
    }

    [Fact]
    public async Task Expire_DeletesInBoundedBatches_AndKeepsNewerItems()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions { ExpiryBatch = 10 }, _time);
        for (int i = 0; i < 35; i++) service.Append("u" + (i % 3), Message("old" + i), 1000, "x@y");
        for (int i = 0; i < 5; i++) service.Append("u" + i, Message("new" + i), 5000, "x@y");
        await service.FlushAsync();
        Assert.Equal(13, (await service.QueryAsync("u0", new ArchiveQuery { WantTotal = true })).Total);

        var (deleted, batches) = await service.ExpireAsync(cutoff: 2000);

        Assert.Equal(35, deleted);
        Assert.Equal(4, batches); // 10 + 10 + 10 + 5
        var u0 = await service.QueryAsync("u0", new ArchiveQuery { WantTotal = true });
        Assert.Equal(["new0"], u0.Items.Select(Body));
        Assert.Equal(1, u0.Total); // the cached 13 was dropped by expiry
    }

    [Fact]
    public async Task Sweep_UsesTheClockAndTheConfiguredAge()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions(), _time);
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        service.Append("alice", Message("two hours old"), now - 7200, "x@y");
        service.Append("alice", Message("a minute old"), now - 60, "x@y");
        await service.FlushAsync();

        Assert.Equal(0, await service.SweepAsync()); // no expiry scheduled
        service.ScheduleExpiry(TimeSpan.FromHours(1), TimeSpan.FromDays(1));
        Assert.Equal(1, await service.SweepAsync());

        Assert.Equal(["a minute old"], (await service.QueryAsync("alice", new ArchiveQuery())).Items.Select(Body));
    }

    [Fact]
    public async Task StrictDurability_CommitIsOnDiskWhenTheTaskCompletes()
    {
        await using var service = new ArchiveService(Sql(), new ArchiveOptions { Durability = ArchiveDurability.Strict }, _time);

        var appended = service.Append("alice", Message("durable"), 42, "bob@localhost");
        await appended.Committed;
        using var other = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "prosody.sqlite")};Pooling=False");
        other.Open();
        var row = other.QuerySingle<(string User, long When, string Type)>(
            """SELECT "user","when","type" FROM "prosodyarchive" WHERE "key"=@key""", new { key = appended.Id });

        Assert.Equal(("alice", 42L, "xml"), row);
        Assert.Equal(ArchiveDurability.Strict, ArchiveOptions.ParseDurability("strict"));
        Assert.Equal(ArchiveDurability.Batched, ArchiveOptions.ParseDurability(null));
        Assert.Equal(ArchiveDurability.Batched, ArchiveOptions.ParseDurability("batched"));
    }

    [Fact]
    public async Task Dispose_CommitsEverythingAlreadyQueued()
    {
        var service = new ArchiveService(Sql(), new ArchiveOptions(), _time);
        var all = Enumerable.Range(0, 200).Select(i => service.Append("alice", Message("m" + i), i, "x@y")).ToList();

        await service.DisposeAsync();

        Assert.All(all, a => Assert.True(a.Committed.IsCompletedSuccessfully));
        Assert.Equal(200, (await Sql().FindAsync("alice", new ArchiveQuery { WantTotal = true, Limit = 0 })).Total);
    }

    [Fact]
    public async Task Memory_FallbackForAnUnknownDriver_StillArchives()
    {
        using var storage = new StorageManager(ServerConfig.Create(new Dictionary<string, object?>
        {
            ["storage"] = new ConfigTable { Hash = { ["archive"] = "nosuchdriver" } },
        }, Host), _dir.Path);
        await using var services = new ArchiveServices(storage, _time);

        var service = services.Open(Host, "archive", new ArchiveOptions());
        service.Append("alice", Message("kept in memory"), 1, "x@y");
        var found = await service.QueryAsync("alice", new ArchiveQuery());

        Assert.Equal(["kept in memory"], found.Items.Select(Body));
        Assert.Same(service, services.Open(Host, "archive", new ArchiveOptions()));
    }
}
