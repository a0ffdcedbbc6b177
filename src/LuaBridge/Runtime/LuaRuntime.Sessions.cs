using KeraLua;
using LuaXmpp.Hosts;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Runtime;

// Session tables (contract §3): one long-lived Lua table per C# Session, built by
// core/bridge.lua. Each fact has one owner; docs/BRIDGE.md has the table of every field and
// where it lives. Fields owned by C# (type, host, username, resource, full_jid, priority,
// interested, destroyed, ip, secure, streamid, roster, conn, directed, presence's state) are not
// stored in the Lua table; reads and writes go through __index/__newindex to the C# objects.
// Every other field lives only in the Lua table (modules' own state).
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, Session> _sessionsById = new();
    private readonly Dictionary<Session, long> _sessionIds = new(ReferenceEqualityComparer.Instance);
    private long _nextSessionId;
    private List<Session> _destroyed = new();
    private bool _sweepPosted;
    private int _sessionFields = LuaRef.NoRef;
    private Action<Session>? _mirrorIdentity;

    private long SessionId(Session session)
    {
        if (_sessionIds.TryGetValue(session, out var id)) return id;
        id = ++_nextSessionId;
        _sessionIds[session] = id;
        _sessionsById[id] = session;
        return id;
    }

    private Session RequireSession(long id) =>
        _sessionsById.GetValueOrDefault(id) ?? throw new ArgumentException("session is gone");

    /// <summary>Pushes the session's table, creating it on first use.</summary>
    private void PushSession(Lua lua, Session session)
    {
        if (session is HostSession)
        {
            PushHostTable(lua, session.Host);
            return;
        }
        if (session.LuaTable is LuaRef r && !r.IsReleased)
        {
            lua.PushRef(r);
            return;
        }
        long id = SessionId(session);
        using var scope = LuaStack.Enter(lua);
        lua.PushRef(_entry);
        lua.RawGetField(-1, "new_session");
        lua.Remove(-2);
        lua.PushInteger(id);
        lua.PushString(session.Log.Name);
        if (scope.PCall(2, 1) != LuaStatus.OK) throw new InvalidOperationException(lua.ToString(-1, false));
        lua.PushCopy(-1);
        session.LuaTable = new LuaRef(lua.PopRef());
        scope.Keep(1);
        if (session is ClientSession)
        {
            session.IdentityChanged = _mirrorIdentity ??= MirrorIdentity;
            MirrorIdentity(session);
        }
        // A table made for a session that is already gone is let go like the others.
        if (session is ClientSession { Destroyed: true } gone) OnSessionDestroyed(gone);
    }

    private void PushHostTable(Lua lua, string host)
    {
        using var scope = LuaStack.Enter(lua);
        lua.GetGlobal("prosody");
        lua.RawGetField(-1, "hosts");
        lua.Remove(-2);
        // hosts is a lazy proxy; ask through a protected call so its __index cannot raise here.
        lua.PushRef(_call);
        lua.Insert(-2);
        lua.PushRef(_entry);
        lua.RawGetField(-1, "index");
        lua.Remove(-2);
        lua.Insert(-2);
        lua.PushString(host);
        // call(index, hosts, host) → ok, hosts[host]
        if (scope.PCall(3, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
        {
            scope.Reset();
            lua.PushNil();
            scope.Keep(1);
            return;
        }
        lua.Remove(-2);
        scope.Keep(1);
    }

    /// <summary>
    /// A client session was destroyed: its table is let go on a later loop turn (handlers still
    /// running now may use it). Only destroyed sessions are visited, never all of them.
    /// </summary>
    private void OnSessionDestroyed(ClientSession session)
    {
        if (_disposed || !_sessionIds.ContainsKey(session)) return;
        _destroyed.Add(session);
        if (_sweepPosted) return;
        _sweepPosted = true;
        _server.Loop.Post(SweepSessions);
    }

    /// <summary>
    /// Copies a client session's type, host, username, resource, full_jid and destroyed into
    /// bridge.lua's session_fields[sid], which its __index reads (docs/BRIDGE.md, "Sessions"):
    /// C# owns them and calls this on every change, so Lua reads them without a native call.
    /// </summary>
    private void MirrorIdentity(Session session)
    {
        if (_disposed || _sessionFields == LuaRef.NoRef || session is not ClientSession client
            || !_sessionIds.TryGetValue(session, out var sid)) return;
        var lua = State;
        lua.EnsureStack(4);
        lua.PushRef(_sessionFields);
        lua.CreateTable(0, 6);
        MirrorField(lua, "type", client.Type);
        MirrorField(lua, "host", client.Host);
        MirrorField(lua, "username", client.Username);
        MirrorField(lua, "resource", client.Resource);
        MirrorField(lua, "full_jid", client.FullJid?.ToString());
        if (client.Destroyed)
        {
            lua.PushBoolean(true);
            lua.RawSetField(-2, "destroyed");
        }
        lua.RawSetInteger(-2, sid);
        lua.Pop(1);
    }

    private static void MirrorField(Lua lua, string key, string? value)
    {
        if (value is null) return;
        lua.PushString(value);
        lua.RawSetField(-2, key);
    }

    private void ForgetMirror(Session session, long sid)
    {
        session.IdentityChanged = null;
        if (_sessionFields == LuaRef.NoRef) return;
        _main.PushRef(_sessionFields);
        _main.PushNil();
        _main.RawSetInteger(-2, sid);
        _main.Pop(1);
    }

    /// <summary>Drops the tables of the client sessions destroyed since the last sweep.</summary>
    private void SweepSessions()
    {
        _sweepPosted = false;
        var destroyed = _destroyed;
        _destroyed = new List<Session>();
        if (_disposed) return;
        foreach (var session in destroyed)
        {
            if (!_sessionIds.Remove(session, out var id)) continue;
            _sessionsById.Remove(id);
            ForgetMirror(session, id);
            ForgetRunnerThread(session);
            if (session.LuaTable is LuaRef r) _main.Release(r);
        }
    }

    /// <summary>The C# session a Lua table stands for (session or host table), or null.</summary>
    private Session? SessionOf(Lua lua, int index)
    {
        if (lua.Type(index) != LuaType.Table) return null;
        index = lua.AbsIndex(index);
        lua.PushRef(_sidOf);
        lua.PushCopy(index);
        lua.RawGet(-2);
        long id = lua.IsInteger(-1) ? lua.ToInteger(-1) : 0;
        lua.Pop(2);
        return id == 0 ? null : _sessionsById.GetValueOrDefault(id);
    }

    private Session RequireOrigin(Lua lua, int index) =>
        SessionOf(lua, index) ?? throw new ArgumentException("origin is not a session or host");

    private int SessionGet(Lua lua)
    {
        var session = RequireSession(lua.ToInteger(1));
        var key = lua.OptString(2);
        var client = session as ClientSession;
        object? value = key switch
        {
            "type" => session.Type,
            "host" => session.Host,
            // Other sessions (s2s) keep their facts in Fields: secure, streamid, from_host, ...
            _ when client is null => key is null ? null : session.Fields.GetValueOrDefault(key),
            "username" => client?.Username,
            "resource" => client?.Resource,
            "full_jid" => client?.FullJid?.ToString(),
            "priority" => client?.Priority,
            // A presence Lua set is held by Lua: true tells bridge.lua to return its own copy.
            "presence" => client is { PresenceOwnedElsewhere: true } ? true : client?.Presence,
            "roster" => client?.Roster,
            "conn" => client?.Connection is { } connection ? ConnectionId(connection) : null,
            "interested" => client is { Interested: true } ? true : null,
            "destroyed" => client is { Destroyed: true } ? true : null,
            "ip" => client?.Connection?.RemoteAddress,
            "secure" => client?.Secure,
            "streamid" => client?.StreamId,
            "encrypted" => client is { Secure: true } ? true : null,
            // Other facts C# keeps for Lua (auth_mechanism, set by the SASL handler).
            _ => key is null ? null : session.Fields.GetValueOrDefault(key),
        };
        PushValue(lua, value);
        return 1;
    }

    private int SessionSet(Lua lua)
    {
        var session = RequireSession(lua.ToInteger(1));
        var key = lua.OptString(2);
        var client = session as ClientSession;
        switch (key)
        {
            case "type": session.Type = lua.OptString(3) ?? session.Type; break;
            case "host": session.Host = lua.OptString(3) ?? session.Host; break;
            case "username" when client is not null: client.Username = lua.OptString(3); break;
            case "resource" when client is not null: client.Resource = lua.OptString(3); break;
            case "full_jid" when client is not null:
                client.FullJid = Jid.TryParse(lua.OptString(3), out var jid) ? jid : null;
                break;
            case "priority" when client is not null:
                client.Priority = lua.Type(3) == LuaType.Number ? (int)lua.ToNumber(3) : null;
                break;
            case "presence" when client is not null:
                if (lua.ToBoolean(3)) client.SetPresenceOwnedElsewhere(() => ReadHeldPresence(client));
                else client.Presence = null;
                break;
            case "conn" when client is not null:
                client.Connection = lua.IsInteger(3) ? _connections.Get(lua.ToInteger(3)) : null;
                break;
            case "interested" when client is not null: client.Interested = lua.ToBoolean(3); break;
            case "destroyed" when client is not null: client.Destroyed = lua.ToBoolean(3); break;
            case "streamid" when client is not null: client.StreamId = lua.OptString(3); break;
            case "from_host" or "to_host" or "direction" or "cert_chain_status" or "cert_identity_status":
                session.Fields[key] = lua.OptString(3);
                break;
            case "auth_mechanism": session.Fields["auth_mechanism"] = lua.OptString(3); break;
        }
        return 0;
    }

    // session_auth_failed(sid, username, condition): a Lua SASL exchange failed (mod_sasl2).
    private int SessionAuthFailed(Lua lua)
    {
        if (RequireSession(lua.ToInteger(1)) is ClientSession client)
            client.LuaAuthFailed?.Invoke(lua.OptString(2), lua.OptString(3) ?? "not-authorized");
        return 0;
    }

    private int SessionSend(Lua lua)
    {
        var session = RequireSession(lua.ToInteger(1));
        if (!_stanzas.IsStanza(lua, 2)) throw new ArgumentException("stanza expected");
        if (session is ClientSession { Destroyed: true })
        {
            lua.PushBoolean(false);
            return 1;
        }
        // No connection (hibernating): Prosody's send fails; the filters (stream management's
        // queue) have run in Lua already.
        if (session is ClientSession { Connection: null })
        {
            lua.PushBoolean(false);
            return 1;
        }
        var previous = _sendingFromLua;
        _sendingFromLua = session as ClientSession;
        try
        {
            session.Send(_stanzas.Read(lua, 2));
        }
        finally
        {
            _sendingFromLua = previous;
        }
        lua.PushBoolean(true);
        return 1;
    }

    private int SessionClose(Lua lua)
    {
        var session = RequireSession(lua.ToInteger(1));
        if (session is ClientSession client)
        {
            var condition = lua.OptString(2) is { } name ? StreamErrorConditionNames.FromElementName(name) : null;
            client.Close(condition, lua.OptString(3));
            _server.Sessions.Destroy(client, lua.OptString(4) ?? lua.OptString(2) ?? lua.OptString(3));
        }
        lua.PushBoolean(true);
        return 1;
    }

    private int SessionDestroy(Lua lua)
    {
        if (RequireSession(lua.ToInteger(1)) is ClientSession client) _server.Sessions.Destroy(client, lua.OptString(2));
        lua.PushBoolean(true);
        return 1;
    }

    private int FullSession(Lua lua)
    {
        var session = _server.Sessions.GetFull(lua.OptString(1) ?? "");
        if (session is null || session.Destroyed) lua.PushNil();
        else PushSession(lua, session);
        return 1;
    }

    private int FullList(Lua lua)
    {
        var sessions = _server.Sessions.FullSessions.ToArray();
        lua.CreateTable(sessions.Length * 2, 0);
        long i = 0;
        foreach (var (jid, session) in sessions)
        {
            lua.PushString(jid);
            lua.RawSetInteger(-2, ++i);
            PushSession(lua, session);
            lua.RawSetInteger(-2, ++i);
        }
        return 1;
    }

    private int BareSessionNative(Lua lua)
    {
        var bare = _server.Sessions.GetBare(lua.OptString(1) ?? "");
        if (bare is null)
        {
            lua.PushNil();
            return 1;
        }
        PushBare(lua, bare);
        return 1;
    }

    private void PushBare(Lua lua, BareSession bare)
    {
        if (bare.LuaTable is LuaRef r && !r.IsReleased)
        {
            lua.PushRef(r);
            return;
        }
        using var scope = LuaStack.Enter(lua);
        lua.PushRef(_entry);
        lua.RawGetField(-1, "new_bare");
        lua.Remove(-2);
        lua.PushString(bare.BareJid);
        if (scope.PCall(1, 1) != LuaStatus.OK) throw new InvalidOperationException(lua.ToString(-1, false));
        lua.PushCopy(-1);
        bare.LuaTable = new LuaRef(lua.PopRef());
        scope.Keep(1);
    }

    private int BareResources(Lua lua)
    {
        var bare = _server.Sessions.GetBare(lua.OptString(1) ?? "");
        var sessions = bare?.Sessions.ToArray() ?? [];
        lua.CreateTable(sessions.Length * 2, 0);
        long i = 0;
        foreach (var (resource, session) in sessions)
        {
            lua.PushString(resource);
            lua.RawSetInteger(-2, ++i);
            PushSession(lua, session);
            lua.RawSetInteger(-2, ++i);
        }
        return 1;
    }

    private int BareList(Lua lua)
    {
        var host = lua.OptString(1);
        var list = _server.Sessions.BareSessions
            .Where(b => host is null || b.Key.EndsWith("@" + host, StringComparison.Ordinal))
            .ToArray();
        lua.CreateTable(list.Length * 2, 0);
        long i = 0;
        foreach (var (jid, bare) in list)
        {
            lua.PushString(jid);
            lua.RawSetInteger(-2, ++i);
            PushBare(lua, bare);
            lua.RawSetInteger(-2, ++i);
        }
        return 1;
    }

    private int HostInfo(Lua lua)
    {
        var host = _server.FindHost(lua.OptString(1) ?? "");
        if (host is null)
        {
            lua.PushNil();
            return 1;
        }
        lua.PushString(host.IsComponent ? "component" : "local");
        lua.PushInteger(SessionId(host.Session));
        return 2;
    }

    private int HostList(Lua lua)
    {
        PushList(lua, _server.Hosts.Keys.ToArray(), lua.PushString);
        return 1;
    }

    private int AuthName(Lua lua)
    {
        var host = lua.OptString(1) ?? "";
        string? name = null;
        try
        {
            name = _server.Auth(host).Name;
        }
        catch (Exception ex)
        {
            // No provider for this host: hosts[h].users.name stays nil, as for a host without auth.
            _log.Debug($"No auth provider for {host}: {ex.Message}");
        }
        if (name is null) lua.PushNil();
        else lua.PushString(name);
        return 1;
    }
}
