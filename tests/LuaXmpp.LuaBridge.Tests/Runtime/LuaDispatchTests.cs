using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// C#-fired chains with Lua handlers run inside util.async runners; session filters, close,
/// bind and event wrappers as Prosody modules expect them.
/// </summary>
[Collection("LuaRuntime")]
public sealed class LuaDispatchTests
{
    private const string WaitingModule = """
        local async = require "util.async"
        module:hook("slow", function(event)
          local wait, done = async.waiter()
          release = done
          event.before = "waited"
          wait()
          event.after = "resumed"
        end, 10)
        """;

    [Fact]
    public async Task CSharpFiredChain_LuaHandlerWaits_RestOfChainRunsAfterDone()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("waiting", WaitingModule);
        Assert.Null(await h.Load("waiting"));
        var calls = new List<string>();
        await h.On(() => h.HostContext.Events.Hook("slow", e => { calls.Add("cs:" + e["after"]); return "cs done"; }, 0));

        var result = await h.Fire("slow", new EventData());

        // The handler waits: the caller is told "handled" and the C# handler has not run yet.
        Assert.Equal(true, result);
        Assert.Empty(calls);
        Assert.Null(await h.On(() => h.Runtime.Run("""for k, m in pairs(prosody.hosts.localhost.modules) do if m.release then m.release() end end""")));
        // The rest of the chain continues from the resumed runner, which may be a later turn of
        // the loop than the release: wait for it (bounded), then it ran exactly once.
        for (int i = 0; i < 200 && await h.On(() => calls.Count) == 0; i++) await Task.Delay(10);
        Assert.Equal(["cs:resumed"], await h.On(() => calls.ToArray()));
    }

    [Fact]
    public async Task CSharpFiredChain_WithoutLuaHandlers_NeverEntersLua()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("other", """module:hook("unrelated", function() end)""");
        Assert.Null(await h.Load("other"));
        await h.On(() => h.HostContext.Events.Hook("native-only", _ => "native", 0));
        long before = await h.On(() => h.Runtime.Dispatches);

        var result = await h.Fire("native-only", new EventData());

        Assert.Equal("native", result);
        Assert.Equal(before, await h.On(() => h.Runtime.Dispatches));
        await h.Fire("unrelated", new EventData());
        Assert.Equal(before + 1, await h.On(() => h.Runtime.Dispatches));
    }

    [Fact]
    public async Task StanzaHandlerWaits_SessionInputIsPaused_UntilItIsDone()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("waiting", WaitingModule);
        Assert.Null(await h.Load("waiting"));
        var (session, _) = await h.BindAsync("waiter");
        var message = new XmlElement("message", Namespaces.Client);

        await h.Fire("slow", new EventData(session, message));

        var paused = await h.On(() => session.InputPaused);
        Assert.NotNull(paused);
        Assert.False(paused!.IsCompleted);
        Assert.Null(await h.On(() => h.Runtime.Run("""for k, m in pairs(prosody.hosts.localhost.modules) do if m.release then m.release() end end""")));
        await paused.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(await h.On(() => session.InputPaused));
    }

    [Fact]
    public async Task StanzaHandlerWaits_InTheSessionRunnerCSharpResumes_PassGoesOnAfterDone_AndTheRunnerServesAgain()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("waiting", WaitingModule + """
            module:hook("quick", function(event) event.quick = (event.quick or 0) + 1 end)
            """);
        Assert.Null(await h.Load("waiting"));
        var calls = new List<string>();
        await h.On(() => h.HostContext.Events.Hook("slow", e => { calls.Add("cs:" + e["after"]); return "cs done"; }, 0));
        var (session, _) = await h.BindAsync("waiter");
        var message = new XmlElement("message", Namespaces.Client);
        // The first chain of the session goes through bridge.dispatch, which makes the session's
        // runner and hands C# its thread; the second is resumed by C# (LuaRuntime.ResumeWalk).
        var first = new EventData(session, message);
        Assert.Null(await h.Fire("quick", first));
        Assert.Equal(1L, first["quick"]);

        long direct = await h.On(() => h.Runtime.DirectWalks);
        var pass = await h.On(() => h.HostContext.Events.FireAsync("slow", new EventData(session, message)).AsTask());
        Assert.Equal(direct + 1, await h.On(() => h.Runtime.DirectWalks));

        Assert.False(pass.IsCompleted);
        Assert.NotNull(await h.On(() => session.InputPaused));
        Assert.Empty(await h.On(() => calls.ToArray()));
        Assert.Null(await h.On(() => h.Runtime.Run("""for k, m in pairs(prosody.hosts.localhost.modules) do if m.release then m.release() end end""")));
        Assert.Equal("cs done", await pass.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["cs:resumed"], await h.On(() => calls.ToArray()));
        // The runner is idle again: later chains of the session run and change their events.
        for (int i = 0; i < 200 && await h.On(() => session.InputPaused) is not null; i++) await Task.Delay(10);
        Assert.Null(await h.On(() => session.InputPaused));
        for (int i = 0; i < 3; i++)
        {
            var again = new EventData(session, message);
            Assert.Null(await h.Fire("quick", again));
            Assert.Equal(1L, again["quick"]);
        }
        // The first of them relearned the runner's thread through bridge.dispatch, the others were resumed.
        Assert.Equal(direct + 3, await h.On(() => h.Runtime.DirectWalks));
    }

    [Fact]
    public async Task LuaHandlerError_InDispatchedIqChain_AnswersInternalServerError()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("broken", """module:hook("iq-get/host/urn:test:broken:q", function() error("boom") end)""");
        Assert.Null(await h.Load("broken"));
        var (session, connection) = await h.BindAsync("victim");
        var iq = RuntimeHarness.Iq("get", "b1", RuntimeHarness.Host, "q", "urn:test:broken");

        var result = await h.Fire("iq-get/host/urn:test:broken:q", new EventData(session, iq));

        Assert.Equal(true, result);
        Assert.True(connection.Sent.TryDequeue(out var reply));
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.NotNull(reply.Element("error", Namespaces.Client)?.Element("internal-server-error", Namespaces.Stanzas));
    }

    private const string FilterModule = """
        local filters = require "util.filters"
        out_calls, in_calls = 0, 0
        module:hook("install-filters", function(event)
          filters.add_filter(event.origin, "stanzas/out", function(stanza)
            out_calls = out_calls + 1
            if stanza:get_child_text("body") == "drop" then return nil end
            stanza.attr.filtered = "yes"
            return stanza
          end)
          filters.add_filter(event.origin, "stanzas/in", function(stanza)
            in_calls = in_calls + 1
            if stanza.name == "presence" then return nil end
            return stanza
          end)
          return true
        end)
        module:hook("send-from-lua", function(event)
          event.origin.send(require "util.stanza".message({ to = event.origin.full_jid }, "from lua"))
          return true
        end)
        """;

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", Namespaces.Client);
        m.AddTextChild("body", body, Namespaces.Client);
        return m;
    }

    [Fact]
    public async Task OutgoingFilter_RunsForCSharpSends_AndDropsWhatItDrops()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("filtering", FilterModule);
        Assert.Null(await h.Load("filtering"));
        var (session, connection) = await h.BindAsync("filtered");
        Assert.Empty(await h.On(() => session.OutgoingFilters));
        await h.Fire("install-filters", new EventData(session));

        await h.On(() => session.Send(Message("keep")));
        await h.On(() => session.Send(Message("drop")));

        Assert.True(connection.Sent.TryDequeue(out var kept));
        Assert.Equal("yes", kept.GetAttribute("filtered"));
        Assert.Empty(connection.Sent);
    }

    [Fact]
    public async Task LuaSend_RunsOutgoingFilterOnce()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("filtering", FilterModule);
        Assert.Null(await h.Load("filtering"));
        var (session, connection) = await h.BindAsync("once");
        await h.Fire("install-filters", new EventData(session));

        await h.Fire("send-from-lua", new EventData(session));

        Assert.True(connection.Sent.TryDequeue(out var sent));
        Assert.Equal("yes", sent.GetAttribute("filtered"));
        Assert.Null(await h.On(() => h.Runtime.Run("""assert(prosody.hosts.localhost.modules.filtering.out_calls == 1, tostring(prosody.hosts.localhost.modules.filtering.out_calls))""")));
    }

    [Fact]
    public async Task IncomingFilter_IsInstalledOnlyWithLuaFilters_AndCanDrop()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("filtering", FilterModule);
        Assert.Null(await h.Load("filtering"));
        var (session, _) = await h.BindAsync("inbound");
        Assert.Empty(await h.On(() => session.IncomingFilters));
        await h.Fire("install-filters", new EventData(session));

        var message = await h.On(() => session.FilterIncoming(Message("hello")));
        var presence = await h.On(() => session.FilterIncoming(new XmlElement("presence", Namespaces.Client)));

        Assert.Single(await h.On(() => session.IncomingFilters));
        Assert.Equal("hello", message?.ChildText("body", Namespaces.Client));
        Assert.Null(presence);
    }

    [Fact]
    public async Task SessionClose_FiresPreSessionClose_AndClosesWithTheCondition()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("closer", """
            module:hook("pre-session-close", function(event) seen_reason = event.reason end)
            module:hook("close-me", function(event) event.origin:close("policy-violation") return true end)
            """);
        Assert.Null(await h.Load("closer"));
        var (session, connection) = await h.BindAsync("closed");

        await h.Fire("close-me", new EventData(session));

        Assert.True(connection.Closed);
        Assert.Equal(StreamErrorCondition.PolicyViolation, connection.CloseCondition);
        Assert.True(await h.On(() => session.Destroyed));
        Assert.Null(await h.On(() => h.Runtime.Run("""assert(prosody.hosts.localhost.modules.closer.seen_reason == "policy-violation")""")));
    }

    [Fact]
    public async Task DestroySession_FromLua_RetiresTheTable()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("destroyer", """
            local sm = require "core.sessionmanager"
            module:hook("destroy-me", function(event)
              local s = event.origin
              sm.destroy_session(s, "test over")
              return tostring(s.destroyed) .. "," .. s.type .. "," .. tostring(s.send("x")) .. "," .. tostring(s.full_jid)
            end)
            """);
        Assert.Null(await h.Load("destroyer"));
        var (session, _) = await h.BindAsync("gone");

        var result = await h.Fire("destroy-me", new EventData(session));

        Assert.Equal("true,c2s_destroyed,false,nil", result);
        Assert.True(await h.On(() => session.Destroyed));
        Assert.Null(await h.On(() => h.Server.Sessions.GetFull("gone@localhost/res")));
    }

    [Fact]
    public async Task WrapEvent_WrapsCSharpFiredChains()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("wrapper", """
            module:wrap_event("wrapped", function(next, name, event)
              event.wrapped = "before"
              local r = next(name, event)
              event.after = r
              return r
            end)
            """);
        Assert.Null(await h.Load("wrapper"));
        await h.On(() => h.HostContext.Events.Hook("wrapped", e => "seen " + e["wrapped"], 0));
        var data = new EventData();

        var result = await h.Fire("wrapped", data);

        Assert.Equal("seen before", result);
        Assert.Equal("seen before", data["after"]);
    }

    [Fact]
    public async Task BindResource_FromLuaInARunner_BindsThroughSessionManager()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("binder", """
            local sm = require "core.sessionmanager"
            module:hook("bind-me", function(event)
              local ok, etype, condition = sm.bind_resource(event.origin, "lua-res")
              event.outcome = tostring(ok) .. "," .. tostring(condition) .. "," .. tostring(event.origin.full_jid)
            end)
            """);
        Assert.Null(await h.Load("binder"));
        var connection = new RecordingConnection();
        var session = new LuaXmpp.Sessions.ClientSession(RuntimeHarness.Host, connection) { Username = "binder" };
        await h.On(() => h.Server.Sessions.Register(session));
        var data = new EventData(session, new XmlElement("iq", Namespaces.Client));

        await h.Fire("bind-me", data);
        await WaitUntil(h, () => h.Server.Sessions.GetFull("binder@localhost/lua-res") is not null);

        Assert.Same(session, await h.On(() => h.Server.Sessions.GetFull("binder@localhost/lua-res")));
    }

    private static async Task WaitUntil(RuntimeHarness h, Func<bool> condition)
    {
        for (int i = 0; i < 200 && !await h.On(condition); i++) await Task.Yield();
        Assert.True(await h.On(condition));
    }

    [Fact]
    public async Task EventStanza_IsLazy_UntouchedStaysTheSameElement_TouchedWorksAsAStanza()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("lazy", """
            local st = require "util.stanza"
            module:hook("untouched", function(event) kept = event.stanza end)
            module:hook("looks", function(event)
              local s = event.stanza
              local ok = st.is_stanza(s)
              local n, names = #s, {}
              for _, child in ipairs(s) do if type(child) == "table" then names[#names + 1] = child.name end end
              local keys = 0
              for _ in pairs(s) do keys = keys + 1 end
              seen = table.concat({ tostring(ok), tostring(n), table.concat(names, ","),
                s:get_child_text("body") or "?", s.attr.type, tostring(keys > 0),
                tostring(st.clone(s):get_child("body") ~= nil), tostring(s):sub(1, 8) }, " ")
            end)
            module:hook("changes", function(event) event.stanza.attr.type = "normal"; event.stanza:tag("x", { xmlns = "urn:t" }):up() end)
            """);
        Assert.Null(await h.Load("lazy"));
        var (session, _) = await h.BindAsync("lazy");
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("type", "chat").SetAttribute("to", "a@localhost");
        message.AddTextChild("body", "hi");
        message.AddChild("active", "http://jabber.org/protocol/chatstates");
        var before = message.ToString();

        var untouched = new EventData(session, message);
        await h.Fire("untouched", untouched);
        Assert.Same(message, untouched.Stanza);
        Assert.Equal(before, message.ToString());

        await h.Fire("looks", new EventData(session, message));
        Assert.Null(await h.On(() => h.Runtime.Run("local m = prosody.hosts.localhost.modules.lazy; assert(m.seen == 'true 2 body,active hi chat true true <message', m.seen)")));

        // A stanza kept from an earlier work item fills itself when first touched.
        Assert.Null(await h.On(() => h.Runtime.Run("assert(prosody.hosts.localhost.modules.lazy.kept:get_child_text('body') == 'hi')")));

        var changed = new EventData(session, message);
        await h.Fire("changes", changed);
        Assert.Equal("normal", changed.Stanza!.GetAttribute("type"));
        Assert.NotNull(changed.Stanza.Element("x", "urn:t"));
    }

    [Fact]
    public async Task OneElement_InSeveralEvents_IsOneStanzaTableUntilFilled_AndKeptEventsStayIntact()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("shared", """
            seen = {}
            module:hook("shared", function(event) seen[#seen + 1] = event end)
            module:hook("shared-change", function(event) event.stanza.attr.id = "changed" end)
            function check(expr) collectgarbage(); collectgarbage(); assert(load("return " .. expr, "=check", "t", _ENV)(), expr) end
            """);
        Assert.Null(await h.Load("shared"));
        var (session, _) = await h.BindAsync("shared");
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("type", "chat").SetAttribute("id", "m1");
        string? Check(string expr) => h.Runtime.Run($"prosody.hosts.localhost.modules.shared.check([[{expr}]])");

        await h.Fire("shared", new EventData(session, message));
        await h.Fire("shared", new EventData(session, message));
        // Two events, one unfilled stanza table (as Prosody hands one stanza to every event of a pass).
        Assert.Null(await h.On(() => Check("#seen == 2 and seen[1] ~= seen[2] and rawequal(seen[1].stanza, seen[2].stanza) and seen[1].origin == seen[2].origin")));

        var changing = new EventData(session, message);
        await h.Fire("shared-change", changing);
        Assert.Equal("changed", message.GetAttribute("id"));
        await h.Fire("shared", new EventData(session, message));
        // The table was filled and changed (the kept events see it, as the same stanza); the next
        // event gets a new lazy table of the changed element. The kept events, made in earlier
        // work items, still hold their own origin and stanza.
        Assert.Null(await h.On(() => Check("#seen == 3 and seen[1].stanza.attr.id == 'changed' and not rawequal(seen[3].stanza, seen[1].stanza) and seen[3].stanza.attr.id == 'changed' and seen[3].origin == seen[1].origin and seen[1].origin.username == 'shared'")));
    }

    [Fact]
    public async Task CSharpHandler_BetweenLuaHandlers_OfAnEventLuaMade_GetsTheFiredEventData_WithLuasChanges_AndLaterLuaSeesItsField()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("sandwich", """
            module:hook("sandwich", function(event) event.stanza.attr.id = "lua-first" end, 2)
            module:hook("sandwich", function(event) seen = event.from_cs .. " " .. event.stanza.attr.id end, 0)
            """);
        Assert.Null(await h.Load("sandwich"));
        var (session, _) = await h.BindAsync("sandwich");
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("type", "chat").SetAttribute("to", "a@localhost");
        var fired = new EventData(session, message);
        EventData? got = null;
        await h.On(() => h.HostContext.Events.Hook("sandwich", e =>
        {
            got = e;
            e["from_cs"] = e.Stanza!.GetAttribute("id"); // the first Lua handler's change, read back
            return null;
        }, 1));

        await h.Fire("sandwich", fired);

        Assert.Same(fired, got);
        Assert.Equal("lua-first", fired.Stanza!.GetAttribute("id"));
        Assert.Null(await h.On(() => h.Runtime.Run("local m = prosody.hosts.localhost.modules.sandwich; assert(m.seen == 'lua-first lua-first', m.seen)")));
    }

    [Fact]
    public async Task TableField_SetByLuaHandler_ReachesCSharp()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("tabler", """
            module:hook("pre-resource-bind", function(event)
              event.error = { type = "cancel", condition = "conflict", text = "taken" }
              return false
            end)
            """);
        Assert.Null(await h.Load("tabler"));
        var data = new EventData();

        Assert.Equal(false, await h.Fire("pre-resource-bind", data));

        var error = Assert.IsType<LuaXmpp.Storage.DataTable>(data["error"]);
        Assert.Equal("conflict", error["condition"]);
        Assert.Equal("taken", error["text"]);
    }

    [Fact]
    public async Task GlobalModule_UnloadedFromStar_TakesItsPerHostPartsAlong()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("globalmod", """
            module:set_global()
            function module.add_host(host_module)
              host_module:hook("per-host", function() return "host part" end)
            end
            """);
        Assert.Null(await h.Load("globalmod"));
        Assert.Equal("host part", await h.Fire("per-host", new EventData()));

        Assert.Null(await h.On(() => h.Runtime.Run("""assert(require "core.modulemanager".unload("*", "globalmod"))""")));

        Assert.Null(await h.Fire("per-host", new EventData()));
        Assert.Null(await h.On(() => h.Runtime.Run("""assert(require "core.modulemanager".get_module("*", "globalmod") == nil)""")));
    }
}
