namespace LuaXmpp.Tests.Libraries;

public sealed class SupportLibrariesTests : LuaTestState
{
    [Fact]
    public void Filters_RunByPriorityAndDropOnNil()
    {
        Run("""
            local filters = require "util.filters"
            local session = {}
            filters.initialize(session)
            local order = {}
            filters.add_filter(session, "stanzas/in", function(d) order[#order + 1] = "low"; return d end, -1)
            filters.add_filter(session, "stanzas/in", function(d) order[#order + 1] = "high"; return d .. "!" end, 10)
            assert(session.filter("stanzas/in", "x") == "x!")
            assert(table.concat(order, ",") == "high,low")
            local drop = function() return nil end
            filters.add_filter(session, "stanzas/in", drop, 5)
            assert(session.filter("stanzas/in", "x") == nil)
            assert(filters.remove_filter(session, "stanzas/in", drop))
            assert(session.filter("bytes/out", "raw") == "raw")
            """);
    }

    [Fact]
    public void Caps_ComputesXep0115Example()
    {
        // XEP-0115 §5.2 simple generation example.
        Run("""
            local st = require "util.stanza"
            local caps = require "util.caps"
            local q = st.stanza("query", { xmlns = "http://jabber.org/protocol/disco#info" })
              :tag("identity", { category = "client", name = "Exodus 0.9.1", type = "pc" }):up()
              :tag("feature", { var = "http://jabber.org/protocol/caps" }):up()
              :tag("feature", { var = "http://jabber.org/protocol/disco#info" }):up()
              :tag("feature", { var = "http://jabber.org/protocol/disco#items" }):up()
              :tag("feature", { var = "http://jabber.org/protocol/muc" }):up()
            local ver, s = caps.calculate_hash(q.tags)
            assert(ver == "QgayPKawpkPSDYmwT/WM94uAlu0=", ver .. " " .. s)
            """);
    }

    [Fact]
    public void Heap_PopsInPriorityOrderAndRemovesById()
    {
        Run("""
            local heap = require "util.indexedbheap".create()
            local ids = {}
            for _, p in ipairs({ 5, 1, 4, 2, 3 }) do ids[p] = heap:insert("item" .. p, p) end
            heap:remove(ids[2])
            heap:reprioritize(ids[5], 0)
            local out = {}
            while heap:peek() do
              local p, item = heap:pop()
              out[#out + 1] = item
            end
            assert(table.concat(out, ",") == "item5,item1,item3,item4", table.concat(out, ","))
            """);
    }

    [Fact]
    public void Multitable_AddsSearchesAndRemoves()
    {
        Run("""
            local mt = require "util.multitable".new()
            mt:add("host", "user", "a")
            mt:add("host", "user", "b")
            mt:set("host", "other", "x", 1)
            assert(#mt:get("host", "user") == 2)
            assert(#mt:search("host", nil) == 2)
            mt:remove("host", "user", "a")
            assert(#mt:get("host", "user") == 1)
            mt:remove("host", "other")
            assert(mt:get("host", "other") == nil)
            local n = 0
            for host, key, value in mt:iter(nil, nil) do n = n + 1 end
            assert(n == 1)
            """);
    }

    [Fact]
    public void SmallHelpers_WorkAsProsody()
    {
        Run("""
            local units = require "util.human.units"
            assert(units.format(1500, "B") == "1.5 kB", units.format(1500, "B"))
            assert(units.format(2048, "B", "b") == "2 KiB", units.format(2048, "B", "b"))
            assert(units.format(0, "s") == "0 s")
            local render = require "util.interpolation".new("%b{}", function(s) return (s:gsub("<", "&lt;")) end)
            assert(render("Hi {name}, {missing?none} {tag!}", { name = "<a>", tag = "<b>" }) == "Hi &lt;a>, none <b>")
            assert(render("{user.name}", { user = { name = "j" } }) == "j")
            local presence = require "util.presence"
            local user = { sessions = { a = { presence = {}, priority = 1 }, b = { presence = {}, priority = 5 }, c = { priority = 9 } } }
            presence.recalc_resource_map(user)
            assert(#user.top_resources == 1 and user.top_resources[1].priority == 5)
            local paths = require "util.paths"
            assert(paths.resolve_relative_path("/etc", "x.cfg") == "/etc/x.cfg" and paths.resolve_relative_path("/etc", "/abs") == "/abs")
            assert(("mod_x.lua"):match(paths.glob_to_pattern("mod_*.lua")))
            assert(require "util.hex".decode("41 42") == "AB")
            assert(require "util.termcolours".getstring("x", "text") == "text")
            local throttle = require "util.throttle".create(2, 1e9)
            assert(throttle:poll(1) and throttle:poll(1))
            local ok = throttle:poll(1)
            assert(ok == false)
            assert(require "util.envload".envload("return x", "=t", { x = 3 })() == 3)
            assert(type(require "util.debug".traceback("m")) == "string")
            assert(require "util.xpcall".xpcall(function(a) return a end, print, 7) == true)
            local dog = require "util.watchdog".new(5, function() end)
            dog:reset(); dog:cancel()
            assert(dog.last_reset == nil)
            """);
    }
}
