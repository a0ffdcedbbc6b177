using LuaXmpp.Archive;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Archive;

public sealed class ArchiveCountCacheTests
{
    private static readonly XmlElement Value = new("message", "jabber:client");

    private static ArchiveAppend Item(string user, string with, long when) => new(user, Guid.NewGuid().ToString(), Value, when, with);

    [Fact]
    public void Store_WhenQuiet_IsKept_AndMatchingAppendsIncrementIt()
    {
        var cache = new ArchiveCountCache(100);
        var all = new ArchiveCountFilter(null, null, null);
        var bob = new ArchiveCountFilter("bob@x", null, null);
        var window = new ArchiveCountFilter(null, 10, 20);

        Assert.True(cache.Store("alice", all, 5, cache.Snapshot("alice")));
        Assert.True(cache.Store("alice", bob, 2, cache.Snapshot("alice")));
        Assert.True(cache.Store("alice", window, 1, cache.Snapshot("alice")));
        var items = new[] { Item("alice", "bob@x", 15), Item("alice", "carol@x", 30), Item("dave", "bob@x", 15) };
        cache.BeginChange(["alice", "dave"]);
        cache.EndAppend(items);

        Assert.True(cache.TryGet("alice", all, out var a) && a == 7);
        Assert.True(cache.TryGet("alice", bob, out var b) && b == 3);
        Assert.True(cache.TryGet("alice", window, out var w) && w == 2);
        Assert.False(cache.TryGet("dave", all, out _));
    }

    [Fact]
    public void Store_WhenAChangeBeganDuringTheCount_IsRejected()
    {
        var cache = new ArchiveCountCache(100);
        var all = new ArchiveCountFilter(null, null, null);

        var stamp = cache.Snapshot("alice");
        cache.BeginChange(["alice"]); // a commit starts while the query counts
        Assert.False(cache.Store("alice", all, 5, stamp));

        var during = cache.Snapshot("alice"); // counted while the commit is in flight
        cache.EndAppend([Item("alice", "x@y", 1)]);
        Assert.False(cache.Store("alice", all, 6, during));

        cache.BeginGlobalChange();
        var expiring = cache.Snapshot("alice");
        cache.EndGlobalChange();
        Assert.False(cache.Store("alice", all, 6, expiring));
        Assert.False(cache.TryGet("alice", all, out _));
    }

    [Fact]
    public void Store_PastCapacity_StartsOver()
    {
        var cache = new ArchiveCountCache(2);
        for (int i = 0; i < 3; i++) cache.Store("u" + i, default, i, cache.Snapshot("u" + i));

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet("u2", default, out _));
    }
}
