using LuaXmpp.Events;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// Event tables of C#-fired chains are reused only when no handler can have kept them
/// (core/escape.lua reads each handler's bytecode): an event a handler keeps stays the event it
/// was, however many events come after it.
/// </summary>
[Collection("LuaRuntime")]
public sealed class EventReuseTests
{
    [Fact]
    public async Task EscapeReader_TellsHandlersThatMayKeepTheEvent_FromThoseThatCannot()
    {
        await using var h = RuntimeHarness.Create();
        Assert.Null(await h.On(() => h.Runtime.Run("""
            local escape = require "core.escape"
            assert(escape.trusted, "the reader understands this Lua's bytecode")
            local kept, list = nil, {}
            local cannot = {
              function(event) end,
              function(event) if event.stanza.attr.type == "chat" and event.origin then return true end end,
              function(event) local s = event.stanza; return s.name, #list end,
              function(event) event.x = 1; return event.x == 1 end,
              function(event) local function inner(e) list[1] = e end; if event.y then return "y" end end,
            }
            local may = {
              function(event) kept = event end,
              function(event) list[#list + 1] = event end,
              function(event) table.insert(list, event) end,
              function(event) return event end,
              function(event) return function() return event.x end end,
              function(event) return event:get() end,
              function(event) local e = event; list[1] = e end,
              function(event) list[event] = true end,
              function(event) event.self = event end,
              function(event) if event == list then return 1 end end,
              function(event) for k in next, event do list[k] = 1 end end,
              function(event) coroutine.wrap(function() list[1] = event end)() end,
              function(event, ...) end,
              function(...) list[1] = ... end,
              print,
              setmetatable({}, { __call = function() end }),
            }
            for i, f in ipairs(cannot) do assert(escape.no_escape(f), "cannot keep #" .. i) end
            for i, f in ipairs(may) do assert(not escape.no_escape(f), "may keep #" .. i) end
            """)));
    }

    [Fact]
    public async Task KeptEvents_StayIntact_WhileLaterEventsReuseTables()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("keeper", """
            kept = {}
            module:hook("keep-it", function(event) kept[#kept + 1] = event end)
            module:hook("keep-later", function(event) end, 10)
            module:hook("keep-later", function(event) kept[#kept + 1] = event end, 5)
            module:hook("ignore-it", function(event) end)
            """);
        Assert.Null(await h.Load("keeper"));
        var (session, _) = await h.BindAsync("keeper");
        // The first chain of the session teaches C# its runner; later ones are resumed directly.
        Assert.Null(await h.Fire("ignore-it", new EventData(session, Message("warm-up"))));
        long reused = await h.On(() => h.Runtime.ReusedEvents);

        await h.Fire("keep-it", new EventData(session, Message("kept-1")));
        for (int i = 0; i < 5; i++) await h.Fire("ignore-it", new EventData(session, Message("other-" + i)));
        await h.Fire("keep-later", new EventData(session, Message("kept-2")));
        // One pass, one work item: a chain whose table was reused, then a keeping chain with the same event.
        await h.On(() =>
        {
            var pass = new EventData(session, Message("kept-3"));
            h.HostContext.Events.Fire("ignore-it", pass);
            h.HostContext.Events.Fire("keep-it", pass);
            h.HostContext.Events.Fire("ignore-it", new EventData(session, Message("other-same-item")));
        });
        for (int i = 0; i < 5; i++) await h.Fire("ignore-it", new EventData(session, Message("later-" + i)));
        Assert.Null(await h.On(() => h.Runtime.Run("collectgarbage(); collectgarbage()")));

        // Reuse did happen around the kept events, and none of them was reused.
        Assert.True(await h.On(() => h.Runtime.ReusedEvents) >= reused + 10);
        Assert.Null(await h.On(() => h.Runtime.Run("""
            local kept = prosody.hosts.localhost.modules.keeper.kept
            assert(#kept == 3, "three kept events, got " .. #kept)
            for i, event in ipairs(kept) do
              assert(event.origin and event.origin.username == "keeper", "origin of kept #" .. i)
              local body = event.stanza:get_child_text("body")
              assert(body == "kept-" .. i, "kept #" .. i .. " has the stanza of " .. tostring(body))
              for j = i + 1, #kept do assert(kept[j] ~= event, "kept events are distinct tables") end
            end
            """)));
    }

    [Fact]
    public async Task CSharpHandlers_AtTheEdges_LetTheTableBeReused_InTheMiddle_KeepItFresh()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("edges", """
            kept = {}
            module:hook("edge", function(event) end, 5)
            module:hook("middle", function(event) end, 10)
            module:hook("middle", function(event) kept[#kept + 1] = event end, 0)
            module:hook("between", function(event) end, 10)
            module:hook("between", function(event) end, 0)
            """);
        Assert.Null(await h.Load("edges"));
        var seen = new List<string?>();
        await h.On(() =>
        {
            // Before and after the Lua handler: run by C# itself, never given the table.
            h.HostContext.Events.Hook("edge", e => { seen.Add(e.Stanza?.Element("body", Namespaces.Client)?.Text); return null; }, 10);
            h.HostContext.Events.Hook("edge", e => { seen.Add(e.Stanza?.Element("body", Namespaces.Client)?.Text); return null; }, 0);
            // Between two Lua handlers: called from the walk with the table (fire_native).
            h.HostContext.Events.Hook("middle", e => { seen.Add("middle"); return null; }, 5);
            h.HostContext.Events.Hook("between", e => { seen.Add("between"); return null; }, 5);
        });
        var (session, _) = await h.BindAsync("edges");
        Assert.Null(await h.Fire("edge", new EventData(session, Message("warm-up"))));
        long reused = await h.On(() => h.Runtime.ReusedEvents);

        for (int i = 0; i < 3; i++) Assert.Null(await h.Fire("edge", new EventData(session, Message("edge-" + i))));
        Assert.Equal(reused + 3, await h.On(() => h.Runtime.ReusedEvents));
        Assert.Null(await h.Fire("middle", new EventData(session, Message("kept-1"))));
        Assert.Null(await h.Fire("between", new EventData(session, Message("between"))));
        Assert.Equal(reused + 3, await h.On(() => h.Runtime.ReusedEvents));
        for (int i = 0; i < 3; i++) Assert.Null(await h.Fire("edge", new EventData(session, Message("later-" + i))));

        Assert.Equal(reused + 6, await h.On(() => h.Runtime.ReusedEvents));
        Assert.Contains("edge-2", await h.On(() => seen.ToArray()));
        Assert.Contains("between", await h.On(() => seen.ToArray()));
        Assert.Null(await h.On(() => h.Runtime.Run("""
            local kept = prosody.hosts.localhost.modules.edges.kept
            assert(#kept == 1 and kept[1].stanza:get_child_text("body") == "kept-1", "the kept event is intact")
            """)));
    }

    [Fact]
    public async Task FinishedDispatches_LeaveNothingTracked_InWorkItemsThatKeepEvents()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("fields", """module:hook("with-field", function(event) event.count = (event.count or 0) + 1 end)""");
        Assert.Null(await h.Load("fields"));
        var (session, _) = await h.BindAsync("fields");

        var counts = await h.On(() =>
        {
            var seen = new List<object?>();
            for (int i = 0; i < 3; i++)
            {
                // A field of its own: C# builds the table (bridge.dispatch), the work item keeps it.
                var e = new EventData(session, Message("f-" + i)) { ["count"] = 10L };
                h.HostContext.Events.Fire("with-field", e);
                seen.Add(e["count"]);
            }
            return (seen, h.Runtime.TrackedDispatches);
        });

        Assert.Equal([11L, 11L, 11L], counts.seen);
        Assert.Equal(0, counts.TrackedDispatches);
    }

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", Namespaces.Client);
        m.AddTextChild("body", body, Namespaces.Client);
        return m;
    }
}
