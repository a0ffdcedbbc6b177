using LuaXmpp.Events;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// The archive store as Prosody's drivers give it to modules: a `key` query names one item and
/// `truncate = N` keeps the N newest (the N oldest with `reverse`). mod_pep's item stores
/// (util.pubsub's archive_itemstore) depend on both after every publish.
/// </summary>
[Collection("LuaRuntime")]
public sealed class ArchiveStoreQueryTests
{
    [Theory]
    [InlineData("{ truncate = 2 }", "2|e,b")]
    [InlineData("{ truncate = 2, reverse = true }", "2|c,d")]
    [InlineData("{ truncate = 9 }", "0|c,d,e,b")]
    [InlineData("{ truncate = 0 }", "4|")]
    [InlineData("{ key = \"d\" }", "1|c,e,b")]
    public async Task Delete_ByKeyOrTruncate_KeepsWhatProsodyKeeps(string query, string expected)
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("items", $$"""
            local st = require "util.stanza"
            module:hook("probe", function()
              local store = module:open_store("pep_node", "archive")
              for _, key in ipairs({ "a", "b", "c", "d", "e", "b" }) do
                assert(store:append("u", key, st.stanza("item", { id = key }), os.time(), nil))
              end
              assert(store:delete("u", { key = "a" }) == 1)
              local count = assert(store:delete("u", {{query}}))
              local keys = {}
              for key in assert(store:find("u", {})) do keys[#keys + 1] = key end
              return tostring(count) .. "|" .. table.concat(keys, ",")
            end)
            """);
        Assert.Null(await h.Load("items"));
        Assert.Equal(expected, await h.Fire("probe", new EventData()));
    }

    [Fact]
    public async Task Find_ByKey_ReturnsThatItemOnly_OrNothing()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("items", """
            local st = require "util.stanza"
            module:hook("probe", function()
              local store = module:open_store("pep_node", "archive")
              for _, key in ipairs({ "a", "b", "c" }) do
                assert(store:append("u", key, st.stanza("item", { id = key }), os.time(), nil))
              end
              local found = {}
              for key, value in assert(store:find("u", { key = "b", reverse = true, limit = 1 })) do
                found[#found + 1] = key .. "=" .. value.attr.id
              end
              local none = 0
              for _ in assert(store:find("u", { key = "zz" })) do none = none + 1 end
              return table.concat(found, ",") .. "|" .. none
            end)
            """);
        Assert.Null(await h.Load("items"));
        Assert.Equal("b=b|0", await h.Fire("probe", new EventData()));
    }
}
