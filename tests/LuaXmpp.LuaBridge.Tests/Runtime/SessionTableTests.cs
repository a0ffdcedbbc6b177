using LuaXmpp.Events;
using LuaXmpp.Roster;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// The session, bare-session and roster tables have the shape Prosody 0.12's mod_c2s,
/// sessionmanager and rostermanager give them, and each fact has one owner: what Lua writes,
/// C# reads at once, and the other way round (docs/BRIDGE.md, "Sessions").
/// </summary>
[Collection("LuaRuntime")]
public sealed class SessionTableTests
{
    [Fact]
    public async Task SessionTable_HasProsodysFields()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("shape", """
            module:hook("probe", function(e)
              local s = e.origin
              local out = {}
              for _, k in ipairs({ "username", "host", "resource", "full_jid", "type", "ip", "id" }) do
                out[#out + 1] = k .. "=" .. tostring(s[k])
              end
              for _, k in ipairs({ "roster", "conn", "stream", "directed", "filters" }) do
                out[#out + 1] = k .. ":" .. type(s[k])
              end
              for _, k in ipairs({ "send", "rawsend", "close", "log", "filter" }) do
                out[#out + 1] = k .. ":" .. type(s[k])
              end
              out[#out + 1] = "secure=" .. tostring(s.secure)
              out[#out + 1] = "conn_stable=" .. tostring(s.conn == s.conn)
              out[#out + 1] = "conn_ip=" .. tostring(s.conn:ip())
              out[#out + 1] = "thread:" .. type(s.thread and s.thread.run)
              out[#out + 1] = "set_session:" .. type(s.stream.set_session)
              out[#out + 1] = "presence=" .. tostring(s.presence)
              return table.concat(out, ",")
            end)
            """);
        Assert.Null(await h.Load("shape"));
        var (session, _) = await h.BindAsync("erin", "phone");
        var shape = (string)(await h.Fire("probe", new EventData(session)))!;
        Assert.Equal(
            "username=erin,host=localhost,resource=phone,full_jid=erin@localhost/phone,type=c2s,ip=127.0.0.1,id=" + session.Log.Name
            + ",roster:table,conn:table,stream:table,directed:table,filters:table"
            + ",send:function,rawsend:function,close:function,log:function,filter:function"
            + ",secure=true,conn_stable=true,conn_ip=127.0.0.1,thread:function,set_session:function,presence=nil",
            shape);
    }

    [Fact]
    public async Task IdentityFields_ChangedByEitherSide_AreWhatTheOtherReads()
    {
        // type, username, resource, full_jid, destroyed: C# owns them, Lua reads a copy C# keeps
        // current (docs/BRIDGE.md, "Sessions"); a stale copy would misroute or misattribute.
        await using var h = RuntimeHarness.Create();
        h.WriteModule("ident", """
            module:hook("probe", function(e)
              local s = e.origin
              return table.concat({ tostring(s.type), tostring(s.username), tostring(s.resource),
                tostring(s.full_jid), tostring(s.destroyed) }, " ")
            end)
            module:hook("rename", function(e) e.origin.resource = "desk"; e.origin.full_jid = "erin@localhost/desk" end)
            """);
        Assert.Null(await h.Load("ident"));
        var (session, _) = await h.BindAsync("erin", "phone");
        Assert.Equal("c2s erin phone erin@localhost/phone nil", await h.Fire("probe", new EventData(session)));

        await h.Fire("rename", new EventData(session));
        Assert.Equal("desk", await h.On(() => session.Resource));
        Assert.Equal("erin@localhost/desk", await h.On(() => session.FullJid?.ToString()));

        await h.On(() => { session.Username = "frank"; session.Type = "c2s_unbound"; });
        Assert.Equal("c2s_unbound frank desk erin@localhost/desk nil", await h.Fire("probe", new EventData(session)));
        await h.On(() => session.Destroyed = true);
        Assert.Equal("c2s_unbound frank desk erin@localhost/desk true", await h.Fire("probe", new EventData(session)));
    }

    [Fact]
    public async Task PresenceAndPriority_SetInLua_AreWhatCSharpRoutesBy_AndTopResourcesFollow()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("avail", """
            local st = require "util.stanza"
            module:hook("available", function(e)
              local s = e.origin
              local p = st.presence()
              s.presence = p
              s.priority = e.priority
              -- mod_presence changes the stored stanza in place after storing it.
              p:tag("status"):text("here"):up()
              return tostring(s.presence == p)
            end)
            module:hook("unavailable", function(e) e.origin.presence = nil; e.origin.priority = nil; return true end)
            module:hook("top", function(e)
              local bare = prosody.bare_sessions[e.origin.username .. "@" .. e.origin.host]
              local top = bare.top_resources
              if not top then return "nil" end
              local names = {}
              for i = 1, #top do names[i] = top[i].resource end
              table.sort(names)
              return table.concat(names, ",")
            end)
            """);
        Assert.Null(await h.Load("avail"));
        var (one, _) = await h.BindAsync("frank", "one");
        var (two, _) = await h.BindAsync("frank", "two");
        Assert.Equal("nil", await h.Fire("top", new EventData(one)));

        Assert.Equal("true", await h.Fire("available", new EventData(one) { ["priority"] = 5 }));
        Assert.True(one.IsAvailable);
        Assert.Equal(5, one.Priority);
        Assert.Equal("here", await h.On(() => one.Presence?.Element("status")?.Text));
        Assert.Equal("one", await h.Fire("top", new EventData(one)));

        await h.Fire("available", new EventData(two) { ["priority"] = 5 });
        Assert.Equal("one,two", await h.Fire("top", new EventData(one)));
        var bare = await h.On(() => h.Server.Sessions.GetBare("frank@localhost")!.TopResources().Count);
        Assert.Equal(2, bare);

        await h.Fire("unavailable", new EventData(one));
        Assert.False(one.IsAvailable);
        Assert.Null(one.Priority);
        Assert.Equal("two", await h.Fire("top", new EventData(one)));
    }

    [Fact]
    public async Task Roster_IsOneObject_SeenLiveByLuaAndCSharp()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("rost", """
            local rm = require "core.rostermanager"
            module:hook("write", function(e)
              local s = e.origin
              local bare = prosody.bare_sessions[s.username .. "@" .. s.host]
              local same = rm.load_roster(s.username, s.host) == s.roster and bare.roster == s.roster
              local ok = rm.add_to_roster(s, "gina@localhost", { subscription = "none", name = "Gina", groups = { Friends = true } })
              return tostring(same) .. "," .. tostring(ok)
            end)
            module:hook("read", function(e)
              local roster = e.origin.roster
              local keys = {}
              for jid, item in pairs(roster) do
                keys[#keys + 1] = jid == false and "false" or (jid .. ":" .. item.subscription)
              end
              return table.concat(keys, ";") .. "|" .. tostring(roster[false].version ~= nil)
                .. "|" .. tostring(rm.is_user_subscribed(e.origin.username, e.origin.host, "gina@localhost"))
            end)
            module:hook("directed", function(e)
              local s = e.origin
              s.directed = s.directed or {}
              s.directed["x@elsewhere"] = true
              local n = 0
              for _ in pairs(s.directed) do n = n + 1 end
              return n
            end)
            """);
        Assert.Null(await h.Load("rost"));
        // Prosody saves rosters of existing accounts only.
        Assert.True(await h.On(() => h.Server.Auth(RuntimeHarness.Host).CreateUserAsync("hank", "pw")).Unwrap());
        var (session, _) = await h.BindAsync("hank");
        Assert.Equal("true,true", await h.Fire("write", new EventData(session)));

        var roster = await h.On(() => RosterManager.Of(session)!);
        var item = roster.Get("gina@localhost")!;
        Assert.Equal("Gina", item.Name);
        Assert.Equal(["Friends"], item.Groups);

        // A change made in C# is what Lua reads next, with no reload.
        await h.On(() => item.Subscription = "to");
        Assert.Equal("false;gina@localhost:to|true|true", await h.Fire("read", new EventData(session)));

        Assert.Equal(1L, await h.Fire("directed", new EventData(session)));
        Assert.Equal(["x@elsewhere"], await h.On(() => session.Directed.ToArray()));
    }

    [Fact]
    public async Task ResumeSurgery_MovesTheConnectionInCSharp_AndConnCloseClosesOnlyTheSocket()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("surgery", """
            local fresh_session
            module:hook("remember", function(e) fresh_session = e.origin; return true end)
            module:hook("resume", function(e)
              local orig, fresh = e.origin, fresh_session
              local old = orig.conn
              orig.conn = nil
              local gone = orig.conn == nil
              old:close()
              orig.conn = fresh.conn
              orig.stream = fresh.stream
              orig.stream:set_session(orig)
              return tostring(gone) .. "," .. tostring(orig.conn == fresh.conn) .. "," .. tostring(orig.send(require "util.stanza".message({ to = orig.full_jid }, "hi")))
            end)
            """);
        Assert.Null(await h.Load("surgery"));
        var (orig, oldConnection) = await h.BindAsync("ivy", "phone");
        var freshConnection = new RecordingConnection();
        var fresh = new Sessions.ClientSession(RuntimeHarness.Host, freshConnection) { Username = "ivy" };
        await h.On(() => h.Server.Sessions.Register(fresh));
        Assert.Equal(true, await h.Fire("remember", new EventData(fresh)));

        Assert.Equal("true,true,true", await h.Fire("resume", new EventData(orig)));
        Assert.True(oldConnection.Closed);
        Assert.False(orig.Destroyed);
        Assert.Same(freshConnection, orig.Connection);
        Assert.Same(orig, fresh.MovedTo);
        Assert.Contains(freshConnection.Sent, e => e.Name == "message");
        Assert.DoesNotContain(oldConnection.Sent, e => e.Name == "message");
    }
}
