using Dapper;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// Offline messages get no full-text index row: XEP-0431 searches the MAM archive, and indexing
/// each offline message cost a second copy of its body per write (issue 16, item 2). MAM items
/// in the same table are still indexed.
/// </summary>
public sealed class OfflineFullTextTests : IDisposable
{
    private const string Host = "localhost";
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task OfflineItems_AreStored_ButNotIndexed_ArchiveItemsAre()
    {
        using (var storage = new StorageManager(ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql" }, Host), _dir.Path))
        {
            var message = new XmlElement("message", "jabber:client").AddTextChild("body", "searchable words");
            await storage.OpenArchive(Host, "offline").AppendAsync("alice", null, message, 1000, "bob@localhost");
            await storage.OpenArchive(Host, "archive").AppendAsync("alice", null, message, 1000, "bob@localhost");
            Assert.Single((await storage.OpenArchive(Host, "offline").FindAsync("alice", new ArchiveQuery())).Items);
        }
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_dir.Path, "prosody.sqlite"), Pooling = false }.ToString());
        c.Open();
        var indexedStores = c.Query<string>("""SELECT a."store" FROM "luaxmpp_archive_fts" f JOIN "prosodyarchive" a ON a."sort_id" = f."rowid" """).ToList();
        Assert.Equal(["archive"], indexedStores);
    }

    public void Dispose() => _dir.Dispose();
}
