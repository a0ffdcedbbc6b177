namespace LuaXmpp.Tests.Runtime;

/// <summary>The stand-ins for libraries Prosody takes from elsewhere (LuaSocket, the file datamanager).</summary>
[Collection("LuaRuntime")]
public sealed class CompatLibraryTests
{
    [Fact]
    public async Task SocketUrl_ParsesAndBuildsBack()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            local url = require "socket.url"
            local p = assert(url.parse("https://user:pw@example.com:8443/a/b;x?q=1#frag"))
            assert(p.scheme == "https" and p.host == "example.com" and p.port == "8443", p.host)
            assert(p.user == "user" and p.password == "pw" and p.path == "/a/b" and p.params == "x")
            assert(p.query == "q=1" and p.fragment == "frag")
            assert(url.build(p) == "https://user:pw@example.com:8443/a/b;x?q=1#frag", url.build(p))
            assert(url.escape("a b/c") == "a%20b%2Fc" and url.unescape("a%20b") == "a b")
            assert(url.absolute("http://h/x/y", "z") == "http://h/x/z", url.absolute("http://h/x/y", "z"))
            """));
        Assert.Null(error);
    }

    [Fact]
    public async Task Datamanager_WritesWhatOpenStoreReads()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            local dm = require "util.datamanager"
            assert(dm.store("alice", "localhost", "notes", { colour = "green" }))
            local kv = require "core.storagemanager".open("localhost", "notes", "keyval")
            assert(kv:get("alice").colour == "green")
            assert(dm.load("alice", "localhost", "notes").colour == "green")
            assert(dm.list_append("alice", "localhost", "log", "one"))
            assert(dm.list_append("alice", "localhost", "log", "two"))
            local list = dm.list_load("alice", "localhost", "log")
            assert(#list == 2 and list[2] == "two")
            assert(require "core.storagemanager".olddm.load("alice", "localhost", "notes").colour == "green")
            """));
        Assert.Null(error);
    }
}
