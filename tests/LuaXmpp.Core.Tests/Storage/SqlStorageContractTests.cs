using LuaXmpp.Storage;
using LuaXmpp.Storage.Postgres;
using LuaXmpp.Storage.Sql;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// The contract, plus which writes a read waits for, on the SQL drivers (SQLite and PostgreSQL).
/// A write is held on the writer until the test releases it, so everything queued behind it stays
/// uncommitted for as long as the test needs: no timing.
/// </summary>
public abstract class SqlStorageContractTests : StorageContractTests
{
    /// <summary>Bounds a wait that must end; the correct code ends it at once.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    protected SqlStorageContractTests(string driver)
        : base(driver)
    {
    }

    protected SqlStorageContractTests(Dictionary<string, object?> options)
        : base(options)
    {
    }

    private IStorageDriver Sql => Manager.DriverNamed("sql", Host);

    /// <summary>A SASL account read does not wait for an archive batch in flight (a mass disconnect's).</summary>
    [Fact]
    public async Task ReadOfOneStore_DoesNotWaitForAWriteToAnother()
    {
        var driver = Sql;
        var accounts = driver.OpenKeyValue(Host, "accounts");
        await accounts.SetAsync("alice", new DataTable { ["salt"] = "s1" });
        var release = new TaskCompletionSource();
        var held = Hold(driver, StoreScope.Archive(Host, "archive"), release.Task);
        try
        {
            var account = await accounts.GetAsync("alice").WaitAsync(Limit);
            var pages = await driver.OpenArchive(Host, "offline").FindAsync("alice", new ArchiveQuery()).WaitAsync(Limit);

            Assert.Equal("s1", account!["salt"]);
            Assert.Empty(pages.Items);
            Assert.False(held.IsCompleted);
        }
        finally
        {
            release.TrySetResult();
            await held;
        }
    }

    /// <summary>Read-your-writes per store: a write queued behind the held one is in the read that follows it (map then keyval: the same rows).</summary>
    [Fact]
    public async Task ReadOfAStore_WaitsForItsOwnEarlierWrites()
    {
        var driver = Sql;
        // The database is open (schema created) before the writer is held.
        await driver.OpenKeyValue(Host, "vcard").SetAsync("alice", new DataTable { ["fn"] = "Alice" });
        var release = new TaskCompletionSource();
        var held = Hold(driver, StoreScope.KeyValue(Host, "accounts"), release.Task);
        Task<DataTable?> roster;
        Task<ArchiveResult> offline;
        try
        {
            var set = driver.OpenMap(Host, "roster").SetAsync("alice", "bob@example.net", "both");
            var append = driver.OpenArchive(Host, "offline").AppendAsync("alice", null, Message("hello"), 7, "bob@example.net");
            roster = driver.OpenKeyValue(Host, "roster").GetAsync("alice");
            offline = driver.OpenArchive(Host, "offline").FindAsync("alice", new ArchiveQuery());
            // A read of a third store passes the held write: by then the two above had every chance to run early.
            await driver.OpenKeyValue(Host, "vcard").GetAsync("alice").WaitAsync(Limit);

            Assert.False(set.IsCompleted || append.IsCompleted);
            Assert.False(roster.IsCompleted);
            Assert.False(offline.IsCompleted);
        }
        finally
        {
            release.TrySetResult();
            await held;
        }

        Assert.Equal("both", (await roster.WaitAsync(Limit))!["bob@example.net"]);
        var item = Assert.Single((await offline.WaitAsync(Limit)).Items);
        Assert.Equal("hello", item.Value.ChildText("body"));
    }

    /// <summary>A purge touches every store: a read of any store issued after it waits for it.</summary>
    [Fact]
    public async Task ReadAfterPurgeUser_WaitsForThePurge()
    {
        var driver = Sql;
        var accounts = driver.OpenKeyValue(Host, "accounts");
        await accounts.SetAsync("alice", new DataTable { ["salt"] = "s1" });
        await driver.OpenArchive(Host, "archive").AppendAsync("alice", null, Message("old"), 1, "bob@example.net");
        var release = new TaskCompletionSource();
        var held = Hold(driver, StoreScope.Archive(Host, "offline"), release.Task);
        Task<DataTable?> account;
        Task<ArchiveResult> archive;
        try
        {
            var purge = driver.PurgeUserAsync(Host, "alice");
            account = accounts.GetAsync("alice");
            archive = driver.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery());

            Assert.False(purge.IsCompleted);
            Assert.False(account.IsCompleted);
            Assert.False(archive.IsCompleted);
        }
        finally
        {
            release.TrySetResult();
            await held;
        }

        Assert.Null(await account.WaitAsync(Limit));
        Assert.Empty((await archive.WaitAsync(Limit)).Items);
    }

    /// <summary>A write of <paramref name="scope"/> that stays on the writer until <paramref name="release"/> completes.</summary>
    private static Task<bool> Hold(IStorageDriver driver, StoreScope scope, Task release) => driver switch
    {
        // The SQLite writer is a thread of its own: blocking it is what a long transaction does.
        SqliteDatabase sqlite => sqlite.WriteAsync(scope, (_, _) => release.Wait(Limit)),
        PostgresDatabase postgres => postgres.WriteAsync(scope, async (_, _) =>
        {
            await release.WaitAsync(Limit);
            return true;
        }),
        _ => throw new ArgumentException($"not an SQL driver: {driver.Name}"),
    };
}
