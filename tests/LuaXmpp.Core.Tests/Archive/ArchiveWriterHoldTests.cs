using LuaXmpp.Archive;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Archive;

/// <summary>
/// Batched mode keeps the promise of a handed-out id (issue 16, item 5): a batch whose write
/// fails is held and retried until it commits, appends queue behind it up to the hold limit and
/// are refused past it, and queries are answered meanwhile instead of waiting.
/// </summary>
public sealed class ArchiveWriterHoldTests : IDisposable
{
    private const string Host = "localhost";
    private readonly TempDirectory _dir = new();
    private readonly StorageManager _storage;

    public ArchiveWriterHoldTests() =>
        _storage = new StorageManager(ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql" }, Host), _dir.Path);

    public void Dispose()
    {
        _storage.Dispose();
        _dir.Dispose();
    }

    /// <summary>The real SQLite store, with writes failing as on a full disk while <see cref="Full"/> is set.</summary>
    private sealed class FullDiskStore(IArchiveStore inner) : IArchiveStore
    {
        public volatile bool Full;

        public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with) =>
            Full ? Task.FromException<string>(new StorageException(StorageFailure.Full, "database or disk is full")) : inner.AppendAsync(user, key, value, when, with);

        public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) => inner.FindAsync(user, query);

        public Task<long> DeleteAsync(string? user, ArchiveQuery query) => inner.DeleteAsync(user, query);

        public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => inner.DeleteOlderThanAsync(cutoff, batch);
    }

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", "jabber:client");
        m.AddTextChild("body", body);
        return m;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition());
    }

    [Fact]
    public async Task FailedBatch_IsHeldAndCommittedLater_LaterAppendsRefusedPastTheHoldLimit()
    {
        var store = new FullDiskStore(_storage.OpenArchive(Host, "archive")) { Full = true };
        await using var service = new ArchiveService(store, new ArchiveOptions { HoldLimit = 3 }, TimeProvider.System);
        var writer = service.Writer;

        var first = writer.TryAppend("alice", Message("1"), 1, "bob@localhost");
        Assert.NotNull(first);
        await WaitUntilAsync(() => writer.Holding);
        var second = writer.TryAppend("alice", Message("2"), 2, "bob@localhost");
        var third = writer.TryAppend("alice", Message("3"), 3, "bob@localhost");
        var refused = writer.TryAppend("alice", Message("4"), 4, "bob@localhost");
        // A query while holding is answered from what is committed, not kept waiting.
        var during = await service.QueryAsync("alice", new ArchiveQuery()).WaitAsync(TimeSpan.FromSeconds(5));

        store.Full = false;
        await Task.WhenAll(first.Committed, second!.Committed, third!.Committed).WaitAsync(TimeSpan.FromSeconds(10));
        var after = await service.QueryAsync("alice", new ArchiveQuery());

        Assert.Null(refused);
        Assert.Equal(1, writer.Refused);
        Assert.Empty(during.Items);
        Assert.Equal([first.Id, second.Id, third.Id], after.Items.Select(i => i.Key));
        Assert.False(writer.Holding);
        Assert.NotNull(writer.TryAppend("alice", Message("5"), 5, "bob@localhost"));
    }
}
