using Dapper;
using LuaXmpp.Archive;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Archive;

/// <summary>XEP-0431 search through the archive service (the writer's group commit, queries, deletes, expiry) on each driver.</summary>
public abstract class ArchiveFullTextTests : IAsyncLifetime
{
    protected const string Host = "localhost";
    private const string Bob = "bob@localhost";
    private const string Carol = "carol@localhost";

    private readonly Dictionary<string, object?> _options;
    private readonly ManualTime _time = new();

    /// <param name="options">Global config options (storage, sql, ...).</param>
    protected ArchiveFullTextTests(Dictionary<string, object?> options) => _options = options;

    protected TempDirectory Dir { get; } = new();

    protected StorageManager Storage { get; private set; } = null!;

    protected ArchiveService Service { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Storage = new StorageManager(ServerConfig.Create(_options, Host), Dir.Path);
        Service = new ArchiveService(Storage.OpenArchive(Host, "archive"), new ArchiveOptions(), _time);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Storage.Dispose();
        Dir.Dispose();
    }

    protected static XmlElement Message(string? body)
    {
        var m = new XmlElement("message", "jabber:client");
        m["type"] = "chat";
        if (body is not null) m.AddTextChild("body", body);
        else m.AddChild("received", "urn:xmpp:receipts");
        return m;
    }

    protected static FullTextQuery Text(string text) => FullTextQuery.Parse(text, out var error) ?? throw new ArgumentException(error);

    private static string Body(ArchiveItem item) => item.Value.ChildText("body", "jabber:client") ?? "";

    private async Task<string[]> Bodies(string user, ArchiveQuery query) => (await Service.QueryAsync(user, query)).Items.Select(Body).ToArray();

    /// <summary>alice: 1..6 with bob at t=1001.., 7..8 with carol; bob's own archive has a matching body too.</summary>
    private async Task SeedAsync()
    {
        string[] withBob =
        [
            "The quick brown fox", "a LAZY dog sleeps", "quickly, the fox ran", "brown is not a fox colour",
            "Café crème at noon", "nothing here",
        ];
        for (int i = 0; i < withBob.Length; i++) Service.Append("alice", Message(withBob[i]), 1001 + i, Bob);
        Service.Append("alice", Message(null), 1007, Bob); // a receipt: no body, never found
        Service.Append("alice", Message("the brown fox with carol"), 1008, Carol);
        Service.Append("alice", Message("quick brown fox, carol again"), 1009, Carol);
        Service.Append("bob", Message("the quick brown fox of bob"), 1001, "alice@localhost");
        await Service.FlushAsync();
    }

    [Fact]
    public async Task Word_Prefix_Phrase_FindTheirMessages_AndOnlyTheOwners()
    {
        await SeedAsync();

        Assert.Equal(["The quick brown fox", "quick brown fox, carol again"], await Bodies("alice", new() { FullText = Text("QUICK") }));
        Assert.Equal(["The quick brown fox", "quickly, the fox ran", "quick brown fox, carol again"], await Bodies("alice", new() { FullText = Text("quic*") }));
        Assert.Equal(["The quick brown fox", "the brown fox with carol", "quick brown fox, carol again"], await Bodies("alice", new() { FullText = Text("\"brown fox\"") }));
        Assert.Equal(["brown is not a fox colour"], await Bodies("alice", new() { FullText = Text("fox brown colour") }));
        Assert.Equal(["Café crème at noon"], await Bodies("alice", new() { FullText = Text("cafe CREME") }));
        Assert.Empty(await Bodies("alice", new() { FullText = Text("quic") }));
        Assert.Equal(["the quick brown fox of bob"], await Bodies("bob", new() { FullText = Text("fox") }));
    }

    [Fact]
    public async Task CombinedWithWithStartEnd_AndPagedWithTotals()
    {
        await SeedAsync();
        var fox = Text("fox");

        var withCarol = await Bodies("alice", new() { FullText = fox, With = Carol });
        var window = await Bodies("alice", new() { FullText = fox, Start = 1003, End = 1008 });
        var last = await Service.QueryAsync("alice", new() { FullText = fox, Reverse = true, Limit = 2, WantTotal = true });
        var before = await Service.QueryAsync("alice", new() { FullText = fox, Reverse = true, Limit = 2, WantTotal = true, Before = last.Items[^1].Key });
        var after = await Service.QueryAsync("alice", new() { FullText = fox, Limit = 2, WantTotal = true, After = before.Items[^1].Key });

        Assert.Equal(["the brown fox with carol", "quick brown fox, carol again"], withCarol);
        Assert.Equal(["quickly, the fox ran", "brown is not a fox colour", "the brown fox with carol"], window);
        Assert.Equal(5, last.Total);
        Assert.Equal(["quick brown fox, carol again", "the brown fox with carol"], last.Items.Select(Body));
        Assert.Equal(["brown is not a fox colour", "quickly, the fox ran"], before.Items.Select(Body));
        Assert.Equal(5, before.Total);
        Assert.Equal(["brown is not a fox colour", "the brown fox with carol"], after.Items.Select(Body));
        Assert.Equal(5, after.Total);
    }


    [Fact]
    public async Task SearchTotal_IsCountedUpToTheLimit_ThenLeftOut_PagesUnchanged()
    {
        await SeedAsync();
        await using var bounded = new ArchiveService(Storage.OpenArchive(Host, "archive"), new ArchiveOptions { FullTextCountLimit = 4 }, _time);
        var fox = Text("fox"); // 5 matches in alice's archive

        var over = await bounded.QueryAsync("alice", new() { FullText = fox, Reverse = true, Limit = 2, WantTotal = true });
        var atLimit = await bounded.QueryAsync("alice", new() { FullText = Text("brown"), Limit = 1, WantTotal = true });
        var filtered = await bounded.QueryAsync("alice", new() { FullText = fox, With = Carol, Limit = 1, WantTotal = true });
        var unbounded = await Service.QueryAsync("alice", new() { FullText = fox, Reverse = true, Limit = 2, WantTotal = true });

        Assert.Null(over.Total); // XEP-0059 §2.1: <count/> is optional; left out past the limit
        Assert.Equal(["quick brown fox, carol again", "the brown fox with carol"], over.Items.Select(Body));
        Assert.Equal(4, atLimit.Total);
        Assert.Equal(2, filtered.Total);
        Assert.Equal(5, unbounded.Total);
        Assert.Equal(over.Items.Select(Body), unbounded.Items.Select(Body));
    }
    [Fact]
    public async Task TotalsOfASearch_FollowNewMessages()
    {
        await SeedAsync();
        var first = await Service.QueryAsync("alice", new() { FullText = Text("lazy"), Limit = 0, WantTotal = true });
        Service.Append("alice", Message("another lazy afternoon"), 1010, Bob);

        var second = await Service.QueryAsync("alice", new() { FullText = Text("lazy"), Limit = 0, WantTotal = true });

        Assert.Equal(1, first.Total);
        Assert.Equal(2, second.Total);
    }

    [Fact]
    public async Task DeletedAndExpiredMessages_AreNotFound_AndNewOnesAre()
    {
        await SeedAsync();

        long deleted = await Service.DeleteAsync("alice", new ArchiveQuery { FullText = Text("lazy") });
        long expired = (await Service.ExpireAsync(1003)).Deleted; // alice's and bob's at 1001 (alice's at 1002 is gone already)
        Service.Append("alice", Message("a lazy fox again"), 1020, Bob);
        await Service.FlushAsync();

        Assert.Equal(1, deleted);
        Assert.Equal(2, expired);
        Assert.Equal(["a lazy fox again"], await Bodies("alice", new() { FullText = Text("lazy") }));
        Assert.Equal(["quickly, the fox ran", "quick brown fox, carol again"], await Bodies("alice", new() { FullText = Text("quick*") }));
        Assert.Empty(await Bodies("bob", new() { FullText = Text("quick") }));
    }

    [Fact]
    public async Task PurgedUser_LeavesNothingToFind_OthersKeepTheirs()
    {
        await SeedAsync();

        await Storage.PurgeUserAsync(Host, "alice");

        Assert.Empty(await Bodies("alice", new() { FullText = Text("fox") }));
        Assert.Equal(["the quick brown fox of bob"], await Bodies("bob", new() { FullText = Text("fox") }));
    }

    [Fact]
    public async Task ReplacedItem_IsFoundByItsNewBodyOnly()
    {
        var store = Storage.OpenArchive(Host, "archive");
        await store.AppendAsync("dave", "k1", Message("old words"), 1, Bob);

        await store.AppendAsync("dave", "k1", Message("new words"), 2, Bob);

        Assert.Empty((await store.FindAsync("dave", new() { FullText = Text("old") })).Items);
        Assert.Equal("k1", Assert.Single((await store.FindAsync("dave", new() { FullText = Text("new words") })).Items).Key);
    }
}

public sealed class MemoryArchiveFullTextTests() : ArchiveFullTextTests(new Dictionary<string, object?> { ["storage"] = "memory" });

/// <summary>The SQL drivers' side tables: kept in step with the archive, and built after opening a database written without them.</summary>
public abstract class SqlArchiveFullTextTests : ArchiveFullTextTests
{
    protected SqlArchiveFullTextTests(Dictionary<string, object?> options)
        : base(options)
    {
    }

    /// <summary>The sort_ids in "prosodyarchive", in the index, and the index's mark, as the database has them.</summary>
    protected abstract Task<(long[] Archived, long[] Indexed, long Mark)> ReadTablesAsync();

    /// <summary>Drops the side tables, as in a database Prosody created.</summary>
    protected abstract Task DropIndexAsync();

    protected abstract int CatchUpBatch { get; }

    [Fact]
    public async Task IndexRows_FollowTheArchive_InsertsDeletesAndExpiry()
    {
        for (int i = 0; i < 10; i++) Service.Append("erin", Message(i == 9 ? null : "row " + i), 2000 + i, "x@localhost");
        await Service.FlushAsync();
        await Service.DeleteAsync("erin", new ArchiveQuery { Limit = 2 });
        await Service.ExpireAsync(2004);
        await Service.FlushAsync();

        var (archived, indexed, mark) = await ReadTablesAsync();

        Assert.Equal(6, archived.Length);
        Assert.Equal(archived[..^1], indexed); // the last item has no body
        Assert.Equal(archived[^1], mark);
    }

    /// <summary>
    /// A database whose archive rows were written without the index (by Prosody, or before the
    /// index existed): the rows are indexed in batches after opening, and found.
    /// </summary>
    [Fact]
    public async Task RowsWrittenWithoutTheIndex_AreIndexedAfterOpening()
    {
        int count = CatchUpBatch * 2 + 17;
        for (int i = 0; i < count; i++) Service.Append("frank", Message(i % 100 == 0 ? "needle " + i : "hay " + i), 3000 + i, "x@localhost");
        await Service.FlushAsync();
        await Service.DisposeAsync();
        Storage.Dispose();
        await DropIndexAsync();

        await InitializeAsync();
        Service.Append("frank", Message("needle written after opening"), 9000, "x@localhost");
        var found = Array.Empty<ArchiveItem>();
        for (int attempt = 0; attempt < 200 && found.Length < count / 100 + 2; attempt++)
        {
            found = (await Service.QueryAsync("frank", new() { FullText = Text("needle") })).Items.ToArray();
            if (found.Length < count / 100 + 2) await Task.Delay(50);
        }

        Assert.Equal(count / 100 + 2, found.Length);
        Assert.Equal("needle 0", found[0].Value.ChildText("body", "jabber:client"));
        Assert.Equal("needle written after opening", found[^1].Value.ChildText("body", "jabber:client"));
        var (archived, _, mark) = await ReadTablesAsync();
        Assert.Equal(archived[^1], mark);
    }
}

public sealed class SqliteArchiveFullTextTests() : SqlArchiveFullTextTests(new Dictionary<string, object?> { ["storage"] = "sql" })
{
    protected override int CatchUpBatch => LuaXmpp.Storage.Sql.SqliteFullTextIndex.BatchSize;

    private SqliteConnection OpenFile()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(Dir.Path, "prosody.sqlite"), Pooling = false }.ToString());
        c.Open();
        return c;
    }

    protected override Task<(long[] Archived, long[] Indexed, long Mark)> ReadTablesAsync()
    {
        using var c = OpenFile();
        return Task.FromResult((
            c.Query<long>("""SELECT "sort_id" FROM "prosodyarchive" ORDER BY 1""").ToArray(),
            c.Query<long>("""SELECT "rowid" FROM "luaxmpp_archive_fts" ORDER BY 1""").ToArray(),
            c.ExecuteScalar<long>("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" """)));
    }

    protected override Task DropIndexAsync()
    {
        using var c = OpenFile();
        c.Execute("""DROP TABLE "luaxmpp_archive_fts"; DROP TABLE "luaxmpp_archive_fts_state";""");
        return Task.CompletedTask;
    }
}

public sealed class PostgresArchiveFullTextTests : SqlArchiveFullTextTests, IClassFixture<PostgresFixture>
{
    private readonly PostgresFixture _pg;
    private readonly string _database;

    public PostgresArchiveFullTextTests(PostgresFixture pg)
        : this(pg, pg.NewDatabaseOptions(out var database), database)
    {
    }

    private PostgresArchiveFullTextTests(PostgresFixture pg, Dictionary<string, object?> options, string database)
        : base(options)
    {
        _pg = pg;
        _database = database;
    }

    protected override int CatchUpBatch => LuaXmpp.Storage.Postgres.PostgresFullTextIndex.BatchSize;

    private Task<string> Psql(string sql) => _pg.Server.PsqlAsync(sql, _database);

    private async Task<long[]> Ids(string sql) =>
        (await Psql(sql)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();

    protected override async Task<(long[] Archived, long[] Indexed, long Mark)> ReadTablesAsync() => (
        await Ids("""SELECT "sort_id" FROM "prosodyarchive" ORDER BY 1"""),
        await Ids("""SELECT "sort_id" FROM "luaxmpp_archive_fts" ORDER BY 1"""),
        (await Ids("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" """)).Single());

    protected override Task DropIndexAsync() => Psql("""DROP TABLE "luaxmpp_archive_fts"; DROP TABLE "luaxmpp_archive_fts_state";""");

    [Fact]
    public async Task Vectors_HaveAGinIndex()
    {
        await Service.QueryAsync("erin", new() { FullText = Text("anything") }); // the schema is created on first use
        Assert.Contains("USING gin (vector)", await Psql("""SELECT indexdef FROM pg_indexes WHERE indexname = 'luaxmpp_archive_fts_vector'"""));
    }
}
