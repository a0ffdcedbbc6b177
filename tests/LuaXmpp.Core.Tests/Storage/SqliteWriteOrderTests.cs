using LuaXmpp.Storage;
using LuaXmpp.Storage.Sql;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Storage;

/// <summary>Writes are committed in the order they were issued, and a read sees every write issued before it.</summary>
public sealed class SqliteWriteOrderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WriteAsync_ManyIssuedWithoutWaiting_CommitsInIssueOrder()
    {
        const int Count = 2_000;
        using var db = new SqliteDatabase(Path.Combine(_dir.Path, "order.sqlite"));
        var archive = db.OpenArchive("localhost", "offline");
        var writes = new List<Task>();
        for (int i = 0; i < Count; i++)
        {
            var message = new XmlElement("message", "jabber:client");
            message.SetAttribute("id", i.ToString());
            // Not awaited: the order of issue is all that fixes the order of commit.
            writes.Add(archive.AppendAsync("bob", null, message, 0, ""));
        }

        // Issued after the appends, not awaiting them: must still see all of them.
        var result = await archive.FindAsync("bob", new ArchiveQuery());
        await Task.WhenAll(writes);

        Assert.Equal(Enumerable.Range(0, Count).Select(i => i.ToString()), result.Items.Select(item => item.Value.GetAttribute("id")));
    }
}
