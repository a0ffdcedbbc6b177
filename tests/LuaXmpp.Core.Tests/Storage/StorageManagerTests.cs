using LuaXmpp.Configuration;
using LuaXmpp.Storage;

namespace LuaXmpp.Tests.Storage;

public sealed class StorageManagerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ConfigTable Table(params (string Key, object? Value)[] entries)
    {
        var t = new ConfigTable();
        foreach (var (k, v) in entries) t.Hash[k] = v;
        return t;
    }

    private static ServerConfig Config(Dictionary<string, object?> global, Dictionary<string, object?>? host = null) =>
        new(null, global, [new HostConfig("h.example", HostKind.VirtualHost, null, host ?? new())]);

    [Fact]
    public void DriverName_DefaultsToInternal()
    {
        using var m = new StorageManager(Config(new()), _dir.Path);

        Assert.Equal("internal", m.DriverNameFor("h.example", "roster"));
    }

    [Fact]
    public void DriverName_TablePerStore_WithDefaultStorageAndArchive2Alias()
    {
        var global = new Dictionary<string, object?>
        {
            ["storage"] = Table(("archive2", "sql"), ("roster", "memory")),
            ["default_storage"] = "null",
        };
        using var m = new StorageManager(Config(global), _dir.Path);

        Assert.Equal("sql", m.DriverNameFor("h.example", "archive"));
        Assert.Equal("memory", m.DriverNameFor("h.example", "roster"));
        Assert.Equal("null", m.DriverNameFor("h.example", "vcard"));
    }

    [Fact]
    public void DriverName_HostOptionOverridesGlobal()
    {
        using var m = new StorageManager(Config(new() { ["storage"] = "sql" }, new() { ["storage"] = "memory" }), _dir.Path);

        Assert.Equal("memory", m.DriverNameFor("h.example", "roster"));
        Assert.Equal("sql", m.DriverNameFor("other.example", "roster"));
    }

    [Fact]
    public async Task SqlOption_DatabaseIsRelativeToDataPath()
    {
        var global = new Dictionary<string, object?> { ["storage"] = "sql", ["sql"] = Table(("driver", "SQLite3"), ("database", "sub/my.db")) };
        using (var m = new StorageManager(Config(global), _dir.Path))
        {
            await m.OpenKeyValue("h.example", "s").SetAsync("u", new DataTable { ["a"] = 1L });
        }

        Assert.True(File.Exists(Path.Combine(_dir.Path, "sub", "my.db")));
    }

    [Fact]
    public async Task InternalDriver_WritesProsodysFlatFiles()
    {
        using (var m = new StorageManager(Config(new()), _dir.Path))
        {
            await m.OpenKeyValue("h.example", "s").SetAsync("u", new DataTable { ["a"] = 1L });
        }
        using var again = new StorageManager(Config(new()), _dir.Path);

        Assert.Equal("return {\n\t[\"a\"] = 1;\n};\n", File.ReadAllText(Path.Combine(_dir.Path, "h%2eexample", "s", "u.dat")));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "prosody.sqlite")));
        Assert.Equal(1L, (await again.OpenKeyValue("h.example", "s").GetAsync("u"))!["a"]);
    }

    [Fact]
    public async Task StorageTable_SendsEachStoreToItsDriver()
    {
        var global = new Dictionary<string, object?> { ["storage"] = Table(("archive", "sql"), ("roster", "internal")), ["default_storage"] = "sql" };
        var message = new LuaXmpp.Xml.XmlElement("message", "jabber:client");
        using (var m = new StorageManager(Config(global), _dir.Path))
        {
            await m.OpenKeyValue("h.example", "roster").SetAsync("u", new DataTable { ["a"] = 1L });
            await m.OpenKeyValue("h.example", "vcard").SetAsync("u", new DataTable { ["b"] = 2L });
            await m.OpenArchive("h.example", "archive").AppendAsync("u", "k1", message, 5, "x@y");
        }

        Assert.True(File.Exists(Path.Combine(_dir.Path, "h%2eexample", "roster", "u.dat")));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "h%2eexample", "vcard")));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "h%2eexample", "archive")));
        using var sql = new StorageManager(Config(new() { ["storage"] = "sql" }), _dir.Path);
        Assert.Equal(2L, (await sql.OpenKeyValue("h.example", "vcard").GetAsync("u"))!["b"]);
        Assert.Equal("k1", Assert.Single((await sql.OpenArchive("h.example", "archive").FindAsync("u", new ArchiveQuery())).Items).Key);
        Assert.Null(await sql.OpenKeyValue("h.example", "roster").GetAsync("u"));
    }

    [Fact]
    public async Task NullDriver_KeepsNothing()
    {
        using var m = new StorageManager(Config(new() { ["storage"] = "null" }), _dir.Path);
        await m.OpenKeyValue("h.example", "s").SetAsync("u", new DataTable { ["a"] = 1L });

        Assert.Null(await m.OpenKeyValue("h.example", "s").GetAsync("u"));
    }

    [Fact]
    public async Task MemoryAndSqlStores_AreDistinctByConfig()
    {
        var global = new Dictionary<string, object?> { ["storage"] = Table(("roster", "memory")), ["default_storage"] = "sql" };
        using var m = new StorageManager(Config(global), _dir.Path);
        await m.OpenKeyValue("h.example", "roster").SetAsync("u", new DataTable { ["a"] = 1L });
        await m.OpenKeyValue("h.example", "vcard").SetAsync("u", new DataTable { ["a"] = 1L });

        await m.PurgeUserAsync("h.example", "u");

        Assert.Null(await m.OpenKeyValue("h.example", "roster").GetAsync("u"));
        Assert.Null(await m.OpenKeyValue("h.example", "vcard").GetAsync("u"));
    }
}
