using Dapper;
using LuaXmpp.Storage;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Storage;

public sealed class SqliteStorageContractTests() : SqlStorageContractTests("sql")
{
    private string DatabasePath => System.IO.Path.Combine(Directory.Path, "prosody.sqlite");

    [Fact]
    public async Task Sqlite_Data_SurvivesReopeningTheFile()
    {
        await Manager.OpenKeyValue(Host, "roster").SetAsync("alice", new DataTable { [false] = new DataTable { ["version"] = 2L }, ["bob@x"] = "y" });
        var key = await Manager.OpenArchive(Host, "archive").AppendAsync("alice", null, new LuaXmpp.Xml.XmlElement("message", "jabber:client"), 7, "bob@x");

        Reopen();

        var roster = await Manager.OpenKeyValue(Host, "roster").GetAsync("alice");
        Assert.Equal(2L, roster!.GetTable(false)!["version"]);
        Assert.Equal("y", roster["bob@x"]);
        var items = (await Manager.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery())).Items;
        Assert.Equal(key, Assert.Single(items).Key);
    }

    [Fact]
    public async Task Sqlite_Schema_HasProsodysTablesAndIndexes()
    {
        await Manager.OpenKeyValue(Host, "s").SetAsync("u", new DataTable { ["a"] = 1L });
        Manager.Dispose();

        using var c = Open();
        var names = c.Query<string>("SELECT name FROM sqlite_master WHERE type IN ('table','index')").ToHashSet();
        var mode = c.ExecuteScalar<string>("PRAGMA journal_mode");

        Assert.Superset(new HashSet<string> { "prosody", "prosodyarchive", "prosody_index", "prosodyarchive_index", "prosodyarchive_with_when", "prosodyarchive_when", "prosodyarchive_sort" }, names);
        Assert.Equal("wal", mode);
    }

    [Fact]
    public async Task Sqlite_Rows_UseProsodysLayoutAndTypes()
    {
        await Manager.OpenKeyValue(Host, "roster").SetAsync("alice", new DataTable
        {
            [false] = new DataTable { ["version"] = 3L },
            ["n"] = 10000L,
            ["f"] = 0.5,
            ["b"] = true,
            ["s"] = "str",
            ["t"] = new DataTable { ["groups"] = new DataTable { [1L] = "a", [2L] = "b" } },
        });
        Manager.Dispose();

        using var c = Open();
        var rows = c.Query<(string Key, string Type, string Value)>(
            "SELECT key, type, value FROM prosody WHERE host='example.com' AND user='alice' AND store='roster'").ToDictionary(r => r.Key);

        Assert.Equal(("number", "10000"), (rows["n"].Type, rows["n"].Value));
        Assert.Equal(("number", "0.5"), (rows["f"].Type, rows["f"].Value));
        Assert.Equal(("boolean", "true"), (rows["b"].Type, rows["b"].Value));
        Assert.Equal(("string", "str"), (rows["s"].Type, rows["s"].Value));
        Assert.Equal(("json", "{\"groups\":[\"a\",\"b\"]}"), (rows["t"].Type, rows["t"].Value));
        Assert.Equal(("json", "{\"__hash\":[false,{\"version\":3}]}"), (rows[""].Type, rows[""].Value));
    }

    [Fact]
    public async Task Sqlite_ArchiveRows_StoreStanzaWithoutDefaultNamespace()
    {
        var m = new LuaXmpp.Xml.XmlElement("message", "jabber:client");
        m["to"] = "bob@x";
        m.AddTextChild("body", "hi");
        await Manager.OpenArchive(Host, "archive").AppendAsync("alice", "id1", m, 1234, null);
        Manager.Dispose();

        using var c = Open();
        var row = c.QuerySingle<(string Type, string Value, long When, string With)>("SELECT type, value, \"when\", \"with\" FROM prosodyarchive");

        Assert.Equal(("xml", "<message to='bob@x'><body>hi</body></message>", 1234L, ""), row);
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        c.Open();
        return c;
    }
}
