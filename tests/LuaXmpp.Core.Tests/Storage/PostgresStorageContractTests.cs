using LuaXmpp.Storage;

namespace LuaXmpp.Tests.Storage;

/// <summary>The storage contract on a real PostgreSQL 15 (sql.driver = "PostgreSQL"), plus what only a server database shows.</summary>
public sealed class PostgresStorageContractTests : SqlStorageContractTests, IClassFixture<PostgresFixture>
{
    private readonly PostgresFixture _pg;
    private readonly string _database;

    public PostgresStorageContractTests(PostgresFixture pg)
        : this(pg, pg.NewDatabaseOptions(out var database), database)
    {
    }

    private PostgresStorageContractTests(PostgresFixture pg, Dictionary<string, object?> options, string database)
        : base(options)
    {
        _pg = pg;
        _database = database;
    }

    private Task<string> Psql(string sql) => _pg.Server.PsqlAsync(sql, _database);

    [Fact]
    public async Task Postgres_Schema_IsProsodysExactly()
    {
        await Manager.OpenKeyValue(Host, "s").SetAsync("u", new DataTable { ["a"] = 1L });

        var columns = await Psql("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name LIKE 'prosody%' ORDER BY table_name, ordinal_position
            """);
        Assert.Equal(
            """
            prosody.host text NO
            prosody.user text NO
            prosody.store text NO
            prosody.key text NO
            prosody.type text NO
            prosody.value text NO
            prosodyarchive.sort_id bigint NO
            prosodyarchive.host text NO
            prosodyarchive.user text NO
            prosodyarchive.store text NO
            prosodyarchive.key text NO
            prosodyarchive.when integer NO
            prosodyarchive.with text NO
            prosodyarchive.type text NO
            prosodyarchive.value text NO
            """.Replace("\r", ""), columns);
        var indexes = await Psql("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'prosody%' ORDER BY indexname");
        Assert.Equal(
            """
            CREATE INDEX prosody_index ON public.prosody USING btree (host, "user", store, key)
            CREATE UNIQUE INDEX prosodyarchive_index ON public.prosodyarchive USING btree (host, "user", store, key)
            CREATE UNIQUE INDEX prosodyarchive_pkey ON public.prosodyarchive USING btree (sort_id)
            CREATE INDEX prosodyarchive_sort ON public.prosodyarchive USING btree (host, "user", store, sort_id)
            CREATE INDEX prosodyarchive_when ON public.prosodyarchive USING btree (host, "user", store, "when")
            CREATE INDEX prosodyarchive_with_when ON public.prosodyarchive USING btree (host, "user", store, "with", "when")
            """.Replace("\r", ""), indexes);
    }

    [Fact]
    public async Task Postgres_Rows_UseProsodysLayoutAndTypes()
    {
        await Manager.OpenKeyValue(Host, "roster").SetAsync("alice", new DataTable
        {
            [false] = new DataTable { ["version"] = 3L },
            ["n"] = 10000L,
            ["b"] = true,
            ["t"] = new DataTable { ["groups"] = new DataTable { [1L] = "a", [2L] = "b" } },
        });
        var m = new LuaXmpp.Xml.XmlElement("message", "jabber:client");
        m["to"] = "bob@x";
        m.AddTextChild("body", "hi");
        await Manager.OpenArchive(Host, "archive").AppendAsync("alice", "id1", m, 1234, null);

        var rows = await Psql("""SELECT key || '|' || type || '|' || value FROM prosody WHERE host='example.com' AND "user"='alice' AND store='roster' ORDER BY key""");
        Assert.Equal(
            """
            |json|{"__hash":[false,{"version":3}]}
            b|boolean|true
            n|number|10000
            t|json|{"groups":["a","b"]}
            """.Replace("\r", ""), rows);
        Assert.Equal("id1|1234||xml|<message to='bob@x'><body>hi</body></message>",
            await Psql("""SELECT key || '|' || "when" || '|' || "with" || '|' || type || '|' || value FROM prosodyarchive"""));
    }

    [Fact]
    public async Task Postgres_ServerRestart_FailsTypedThenRecoversWithoutReopening()
    {
        var store = Manager.OpenKeyValue(Host, "private");
        await store.SetAsync("alice", new DataTable { ["k"] = "before" });

        await _pg.Server.StopAsync();
        try
        {
            var error = await Assert.ThrowsAsync<StorageException>(() => store.SetAsync("alice", new DataTable { ["k"] = "during" }));
            Assert.Equal(StorageFailure.Disconnected, error.Failure);
            await Assert.ThrowsAsync<StorageException>(() => store.GetAsync("alice"));
        }
        finally
        {
            await _pg.Server.RestartAsync();
        }

        Assert.Equal("before", (await store.GetAsync("alice"))!["k"]);
        await store.SetAsync("alice", new DataTable { ["k"] = "after" });
        Assert.Equal("after", (await store.GetAsync("alice"))!["k"]);
    }
}
