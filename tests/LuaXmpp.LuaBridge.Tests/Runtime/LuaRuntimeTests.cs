using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

[Collection("LuaRuntime")]
public sealed class LuaRuntimeTests
{
    [Fact]
    public async Task Module_HandlesEvent_FiredFromCSharp()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("probe", """
            module:hook("test-event", function(event)
              event.seen = "yes"
              return "handled by " .. module:get_name() .. " on " .. module:get_host()
            end)
            """);
        Assert.Null(await h.Load("probe"));
        var e = new EventData();
        var result = await h.Fire("test-event", e);
        Assert.Equal("handled by probe on localhost", result);
        Assert.Equal("yes", e["seen"]);
    }

    [Fact]
    public async Task Priorities_InterleaveCSharpAndLuaHandlers()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("order", """
            local function mark(name) return function(e) e.order = (e.order or "") .. name .. ";" end end
            module:hook("ordered", mark("lua10"), 10)
            module:hook("ordered", mark("lua0"), 0)
            module:hook("ordered", mark("lua-10"), -10)
            """);
        Assert.Null(await h.Load("order"));
        await h.On(() =>
        {
            h.HostContext.Events.Hook("ordered", e => { e["order"] = e["order"] + "cs5;"; return null; }, 5);
            h.HostContext.Events.Hook("ordered", e => { e["order"] = e["order"] + "cs-5;"; return null; }, -5);
        });
        var data = new EventData();
        await h.Fire("ordered", data);
        Assert.Equal("lua10;cs5;lua0;cs-5;lua-10;", data["order"]);
    }

    [Fact]
    public async Task LuaFire_RunsCSharpHandlers_InPriorityOrder()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("luafire", """
            module:hook("inner", function(e) e.order = (e.order or "") .. "lua;" end, 1)
            module:hook("outer", function(e)
              local inner = { order = "" }
              local r = module:fire_event("inner", inner)
              return inner.order .. "result=" .. tostring(r)
            end)
            """);
        Assert.Null(await h.Load("luafire"));
        await h.On(() => h.HostContext.Events.Hook("inner", e => { e["saw"] = e["order"]; return "cs"; }, 0));
        var result = await h.Fire("outer", new EventData());
        Assert.Equal("lua;result=cs", result);
    }

    [Fact]
    public async Task FalseReturn_StopsChain()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("stopper", """module:hook("stop-me", function() return false end, 10)""");
        Assert.Null(await h.Load("stopper"));
        bool reached = false;
        await h.On(() => h.HostContext.Events.Hook("stop-me", _ => { reached = true; return null; }, 0));
        var result = await h.Fire("stop-me", new EventData());
        Assert.Equal(false, result);
        Assert.False(reached);
    }

    [Fact]
    public async Task LuaError_IsContainedLogged_AndIqGetsInternalServerError()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("broken", """module:hook("iq-get/host/urn:test:broken:q", function() error("boom in handler") end)""");
        Assert.Null(await h.Load("broken"));
        var (session, connection) = await h.BindAsync("alice");
        var iq = RuntimeHarness.Iq("get", "b1", "localhost", "q", "urn:test:broken");
        iq.SetAttribute("from", "alice@localhost/res");
        var result = await h.Fire("iq-get/host/urn:test:broken:q", new EventData(session, iq));
        Assert.NotNull(result);
        var reply = Assert.Single(connection.Sent);
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.Equal("b1", reply.GetAttribute("id"));
        Assert.NotNull(reply.Element("error")?.Element("internal-server-error", Namespaces.Stanzas));
        Assert.Contains(TestLog.Sink.Entries, l => l.Source == "localhost:broken" && l.Message.Contains("boom in handler")
            && l.Message.Contains("traceback"));
    }

    [Fact]
    public async Task SessionSend_FromLua_ReachesConnection()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("sender", """
            local st = require "util.stanza"
            module:hook("push-to", function(e)
              local session = prosody.full_sessions[e.jid]
              session.send(st.message({ to = e.jid, type = "chat" }):tag("body"):text("hi"))
              return true
            end)
            """);
        Assert.Null(await h.Load("sender"));
        var (_, connection) = await h.BindAsync("bob");
        var e = new EventData();
        e["jid"] = "bob@localhost/res";
        Assert.Equal(true, await h.Fire("push-to", e));
        var message = Assert.Single(connection.Sent);
        Assert.Equal("hi", message.ChildText("body"));
        Assert.Equal(Namespaces.Client, message.Namespace);
    }

    [Fact]
    public async Task ModuleSend_RoutesThroughRouter()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("routesend", """
            local st = require "util.stanza"
            module:hook("send-it", function(e)
              module:send(st.message({ to = e.jid, from = module.host, type = "chat" }):tag("body"):text("routed"))
              return true
            end)
            """);
        Assert.Null(await h.Load("routesend"));
        // Delivery to a full JID is mod_message's job (native here).
        await h.On(() => LuaXmpp.Modules.Native.NativeModules.RegisterAll(h.Server.Modules));
        Assert.Null(await h.Load("message"));
        var (_, connection) = await h.BindAsync("carol");
        var e = new EventData();
        e["jid"] = "carol@localhost/res";
        Assert.Equal(true, await h.Fire("send-it", e));
        var message = Assert.Single(connection.Sent);
        Assert.Equal("routed", message.ChildText("body"));
    }

    [Fact]
    public async Task Options_TypedGetters_FollowProsodyRules()
    {
        var global = new Dictionary<string, object?>
        {
            ["num"] = 5L, ["flag"] = "true", ["word"] = true, ["bad_num"] = "x",
            ["list"] = ListOf("a", "b"), ["inherited"] = ListOf("g"), ["period"] = "2 d",
        };
        var host = new Dictionary<string, object?> { ["num"] = 7.5, ["inherited"] = ListOf("h") };
        await using var h = RuntimeHarness.Create(global, host);
        h.WriteModule("opts", """
            module:hook("probe", function()
              local set = module:get_option_inherited_set("inherited")
              local parts = {
                tostring(module:get_option_number("num")),
                tostring(module:get_option_boolean("flag")),
                module:get_option_string("word"),
                tostring(module:get_option_number("bad_num")),
                table.concat(module:get_option_array("list"), ","),
                tostring(module:get_option_set("list"):contains("b")),
                tostring(set:contains("g") and set:contains("h")),
                tostring(module:get_option_string("missing", "dflt")),
                tostring(module:get_option_period("period")),
                tostring(module:get_option_integer("num")),
                tostring(module:get_option_scalar("list")),
                tostring(module:context("*"):get_option_number("num")),
              }
              return table.concat(parts, "|")
            end)
            """);
        Assert.Null(await h.Load("opts"));
        var result = await h.Fire("probe", new EventData());
        Assert.Equal("7.5|true|true|nil|a,b|true|true|dflt|172800|nil|a|5", result);
    }

    [Fact]
    public async Task Shared_TablesAreSharedAcrossModules()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("writer", """module:shared("/*/test/data").value = 42""");
        h.WriteModule("reader", """
            local data = module:shared("/*/test/data")
            module:hook("probe", function() return tostring(data.value) end)
            """);
        Assert.Null(await h.Load("writer"));
        Assert.Null(await h.Load("reader"));
        Assert.Equal("42", await h.Fire("probe", new EventData()));
    }

    [Fact]
    public async Task Timer_FiresOnLoop_AndRepeatsOnNumericReturn()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("ticker", """
            local n = 0
            module:add_timer(0, function()
              n = n + 1
              module:fire_event("tick", { count = n })
              if n < 3 then return 0 end
            end)
            """);
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await h.On(() => h.HostContext.Events.Hook("tick", e =>
        {
            if (e["count"] is long c && c == 3) done.TrySetResult(c);
            return null;
        }));
        Assert.Null(await h.Load("ticker"));
        Assert.Equal(3, await done.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Unload_RemovesHooksAndItems_AndCallsUnload()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("gone", """
            module:hook("some-event", function() return true end)
            module:add_feature("urn:test:gone")
            function module.unload() module:fire_event("gone-unloading", {}) end
            """);
        Assert.Null(await h.Load("gone"));
        Assert.True(await h.On(() => h.HostContext.Events.HasHandlers("some-event")));
        Assert.Contains("urn:test:gone", await h.On(() => h.HostContext.Items.Get("feature")));
        bool unloadCalled = false;
        await h.On(() => h.HostContext.Events.Hook("gone-unloading", _ => { unloadCalled = true; return null; }));
        Assert.True(await h.On(() => h.Server.Modules.Unload(h.HostContext, "gone")));
        Assert.True(unloadCalled);
        Assert.False(await h.On(() => h.HostContext.Events.HasHandlers("some-event")));
        Assert.DoesNotContain("urn:test:gone", await h.On(() => h.HostContext.Items.Get("feature")));
    }

    [Fact]
    public async Task Load_RuntimeError_FailsAndIsLogged_TopLevelReturnSucceeds()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("fails", """error("load-time failure")""");
        h.WriteModule("returns", """
            module:hook("early", function() return "kept" end)
            do return end
            """);
        Assert.NotNull(await h.Load("fails"));
        Assert.Contains(TestLog.Sink.Entries, l => l.Message.Contains("load-time failure"));
        Assert.Null(await h.Load("returns"));
        Assert.Equal("kept", await h.Fire("early", new EventData()));
    }

    [Fact]
    public async Task Environment_GlobalWritesStayInModule_AndDependsLoadsDependency()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("dep", """shared_name = "dep"; module:hook("dep-probe", function() return "dep here" end)""");
        h.WriteModule("user", """
            local dep = module:depends("dep")
            module:hook("probe", function()
              return tostring(rawget(_G, "shared_name")) .. "," .. tostring(dep.shared_name)
            end)
            """);
        Assert.Null(await h.Load("user"));
        Assert.True(await h.On(() => h.Server.Modules.IsLoaded(RuntimeHarness.Host, "dep")));
        Assert.Equal("nil,dep", await h.Fire("probe", new EventData()));
    }

    [Fact]
    public async Task DeepStanza_CrossesIntoLua_WithoutOverrunningTheLuaStack()
    {
        // Marshalling recurses per element level; each level needs stack slots beyond the 20 the
        // C API guarantees, so the bridge must grow the stack or it writes over the Lua heap.
        await using var h = RuntimeHarness.Create();
        h.WriteModule("depth", """
            module:hook("deep", function(e)
              local n, t = 0, e.stanza
              while t.tags[1] do t = t.tags[1]; n = n + 1 end
              e.depth = n
              e.nested = { a = { b = { c = { d = { e = { f = { g = { h = "deep" } } } } } } } }
            end)
            """);
        Assert.Null(await h.Load("depth"));
        for (int round = 0; round < 20; round++)
        {
            var message = new XmlElement("message", Namespaces.Client);
            var at = message;
            for (int i = 0; i < 200; i++) at = at.AddChild("x", "urn:test:deep");
            var e = new EventData(null, message);
            await h.Fire("deep", e);
            Assert.Equal(200L, e["depth"]);
        }
    }

    [Fact]
    public async Task Stanza_RoundTrip_KeepsNamespacesLangAndMutations()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("mutate", """
            module:hook("inspect", function(e)
              local s = e.stanza
              local fwd = s.tags[1]
              local inner = fwd.tags[1]
              e.report = table.concat({
                tostring(s.attr.xmlns), s.attr["xml:lang"], fwd.attr.xmlns, tostring(inner.attr.xmlns),
                tostring(s:get_child_text("body")), tostring(s.attr["urn:attr\1flag"]),
              }, "|")
              s:tag("added", { xmlns = "urn:test:added" }):text("new"):up()
              s.attr.type = "headline"
            end)
            """);
        Assert.Null(await h.Load("mutate"));
        var message = new XmlElement("message", Namespaces.Client);
        message.SetAttribute("xml:lang", "de").SetAttribute("type", "chat");
        message.SetAttribute("urn:attr\u0001flag", "1");
        var forwarded = message.AddChild("forwarded", "urn:xmpp:forward:0");
        forwarded.AddChild("message", Namespaces.Client).AddTextChild("body", "inner");
        message.AddTextChild("body", "hello");
        var e = new EventData(null, message);
        await h.Fire("inspect", e);
        Assert.Equal("nil|de|urn:xmpp:forward:0|jabber:client|hello|1", e["report"]);
        Assert.Same(message, e.Stanza);
        Assert.Equal("headline", message.GetAttribute("type"));
        Assert.Equal("de", message.GetAttribute("xml:lang"));
        Assert.Equal("urn:xmpp:forward:0", message.Element("forwarded")!.Namespace);
        Assert.Equal(Namespaces.Client, message.Element("forwarded")!.Element("message")!.Namespace);
        Assert.Equal("new", message.Element("added", "urn:test:added")!.Text);
        Assert.Equal("hello", message.ChildText("body", Namespaces.Client));
    }

    [Fact]
    public async Task FunctionMetatable_ReadsAndRebindsUpvalues()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            local session = "old"
            local function send() return session end
            assert(send.session == "old", "read")
            send.session = "new"
            assert(send() == "new", "rebind")
            send.nonexistent = 1
            assert(send.nonexistent == nil, "no such upvalue")
            """));
        Assert.Null(error);
    }

    [Fact]
    public async Task SessionTable_ReflectsCSharpFields_AndIsStable()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("sess", """
            module:hook("probe", function(e)
              local s = e.origin
              local same = prosody.full_sessions["dave@localhost/res"] == s
              s.priority = 5
              s.custom = "kept"
              local bare = prosody.bare_sessions["dave@localhost"]
              return table.concat({ s.type, s.username, s.full_jid, tostring(same),
                tostring(bare.sessions.res == s), tostring(hosts["localhost"].sessions.dave == bare),
                tostring(s.conn:ip()), tostring(tostring(s):match("%x+$") ~= nil) }, ",")
            end)
            module:hook("probe2", function(e) return e.origin.custom end)
            """);
        Assert.Null(await h.Load("sess"));
        var (session, _) = await h.BindAsync("dave");
        Assert.Equal("c2s,dave,dave@localhost/res,true,true,true,127.0.0.1,true", await h.Fire("probe", new EventData(session)));
        Assert.Equal(5, session.Priority);
        Assert.Equal("kept", await h.Fire("probe2", new EventData(session)));
    }

    [Fact]
    public async Task OpenStore_KeyvalAndMap_ShareRecords()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("store", """
            module:hook("probe", function()
              local kv = module:open_store("things")
              local map = module:open_store("things", "map")
              assert(kv:set("u", { a = 1, [false] = { v = true } }))
              assert(map:set("u", "b", "two"))
              local data = kv:get("u")
              return table.concat({ tostring(data.a), tostring(data.b), tostring(data[false].v), tostring(map:get("u", "a")) }, ",")
            end)
            """);
        Assert.Null(await h.Load("store"));
        Assert.Equal("1,two,true,1", await h.Fire("probe", new EventData()));
    }

    [Fact]
    public async Task LuaFiredChain_HandlerMayWaitInsideAsyncRunner_WithCSharpHandlerInChain()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("waiter", """
            local async = require "util.async"
            module:hook("waits", function(e)
              local wait, done = async.waiter()
              module:add_timer(0, function() done() end)
              wait()
              e.order = (e.order or "") .. "lua-after-wait;"
            end, 10)
            module:hook("start", function()
              local runner = async.runner(function(ev)
                module:fire_event("waits", ev)
                module:fire_event("finished", { order = ev.order })
              end)
              runner:run({})
              return true
            end)
            """);
        var finished = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await h.On(() =>
        {
            h.HostContext.Events.Hook("waits", e => { e["order"] = e["order"] + "cs;"; return null; }, 0);
            h.HostContext.Events.Hook("finished", e => { finished.TrySetResult(e["order"] as string); return null; });
        });
        Assert.Null(await h.Load("waiter"));
        Assert.Equal(true, await h.Fire("start", new EventData()));
        Assert.Equal("lua-after-wait;cs;", await finished.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static ConfigTable ListOf(params string[] items)
    {
        var t = new ConfigTable();
        foreach (var i in items) t.Array.Add(i);
        return t;
    }
}
