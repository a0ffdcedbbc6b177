using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.LuaBridge.Runtime;

// Connections, directed presence, bare-session facts and session adoption as Lua sees them.
// Each fact stays in its C# owner (IClientConnection, ClientSession.Directed, BareSession);
// the natives here only read or change it.
public sealed partial class LuaRuntime
{
    private readonly HandleTable<IClientConnection> _connections = new();

    private void RegisterConnectionNatives(NativeTable n)
    {
        n.Add("conn_info", ConnInfo);
        n.Add("conn_close", ConnClose);
        n.Add("conn_write", ConnWrite);
        n.Add("conn_control", ConnControl);
        n.Add("filter_hooks", l => { _filterHooks = l.ToInteger(1) > 0; return 0; });
        n.Add("conn_release", l => { _connections.Release(l.ToInteger(1)); return 0; });
        n.Add("directed", Directed);
        n.Add("session_adopt", SessionAdopt);
        n.Add("bare_get", BareGet);
    }

    // Set while util.filters has hooks (filters.add_filter_hook, e.g. mod_limits).
    private bool _filterHooks;

    /// <summary>
    /// A new connection's session: with filter hooks installed, its table is made now, so the
    /// hooks see every session at connection time as in Prosody's mod_c2s (mod_limits sets the
    /// connection's read limit there); otherwise tables are made when Lua first sees a session.
    /// </summary>
    private void OnSessionRegistered(ClientSession session)
    {
        if (!_filterHooks || _disposed) return;
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        try
        {
            PushSession(lua, session);
        }
        catch (InvalidOperationException ex)
        {
            _log.Warn($"Filter hooks failed for a new session: {ex.Message}");
        }
    }

    /// <summary>The id a connection's Lua table carries; registered while a table for it lives.</summary>
    private long ConnectionId(IClientConnection connection) => _connections.IdOf(connection);

    private IClientConnection? ConnectionOf(Lua lua) => _connections.Get(lua.ToInteger(1));

    // conn_info(cid, "ip" | "secure")
    private int ConnInfo(Lua lua)
    {
        var connection = ConnectionOf(lua);
        switch (lua.OptString(2))
        {
            case "ip" when connection is not null: lua.PushString(connection.RemoteAddress); break;
            case "secure" when connection is not null: lua.PushBoolean(connection.IsSecure); break;
            default: lua.PushNil(); break;
        }
        return 1;
    }

    // conn:close(): closes the socket only. The session it carried ends (or hibernates) through the
    // stream handler's disconnect, unless the session has moved to another connection meanwhile.
    private int ConnClose(Lua lua)
    {
        ConnectionOf(lua)?.Close();
        lua.PushBoolean(true);
        return 1;
    }

    private int ConnWrite(Lua lua)
    {
        if (ConnectionOf(lua) is not { } connection)
        {
            lua.PushBoolean(false);
            return 1;
        }
        connection.SendRaw(lua.RawString(2) ?? "");
        lua.PushBoolean(true);
        return 1;
    }

    // conn_control(cid, "pause_writes" | "resume_writes" | "setlimit", bytes_per_second)
    private int ConnControl(Lua lua)
    {
        var connection = ConnectionOf(lua);
        switch (lua.OptString(2))
        {
            case "pause_writes": connection?.PauseWrites(); break;
            case "resume_writes": connection?.ResumeWrites(); break;
            case "setlimit": connection?.SetReadLimit(lua.IsNumber(3) ? lua.ToNumber(3) : 0); break;
            default: throw new ArgumentException("unknown connection operation");
        }
        return 0;
    }

    // directed(sid, "get" | "add" | "remove", jid) / directed(sid, "list") / directed(sid, "clear")
    private int Directed(Lua lua)
    {
        if (RequireSession(lua.ToInteger(1)) is not ClientSession session) return 0;
        var jid = lua.OptString(3) ?? "";
        switch (lua.OptString(2))
        {
            case "get":
                lua.PushBoolean(session.Directed.Contains(jid));
                return 1;
            case "add": session.Directed.Add(jid); return 0;
            case "remove": session.Directed.Remove(jid); return 0;
            case "clear": session.Directed.Clear(); return 0;
            case "list":
                PushList(lua, session.Directed.ToArray(), lua.PushString);
                return 1;
            default: throw new ArgumentException("unknown directed operation");
        }
    }

    /// <summary>
    /// stream:set_session(target) (XEP-0198 §5 resume by Prosody's mod_smacks): the connection of
    /// session <c>from</c> now carries <c>target</c>. The stream handler follows MovedTo; the fresh
    /// session is destroyed on a later turn (its table may still be used by the resume in progress).
    /// </summary>
    private int SessionAdopt(Lua lua)
    {
        if (RequireSession(lua.ToInteger(1)) is not ClientSession from || RequireSession(lua.ToInteger(2)) is not ClientSession target)
            return 0;
        if (from.Connection is { } connection) target.Connection = connection;
        from.MovedTo = target;
        // Prosody leaves session.conn on the fresh session (mod_smacks indexes by it right after).
        _server.Loop.Post(() =>
        {
            from.Connection = null;
            _server.Sessions.Destroy(from, "Resumed as another session");
        });
        return 0;
    }

    // bare_get(bare, "top_resources" | "roster")
    private int BareGet(Lua lua)
    {
        var bare = _server.Sessions.GetBare(lua.OptString(1) ?? "");
        switch (lua.OptString(2))
        {
            case "top_resources" when bare is not null:
                var top = bare.TopResources();
                if (top.Count == 0) lua.PushNil(); // Prosody keeps nil rather than an empty list
                else PushList(lua, top, s => PushSession(lua, s));
                return 1;
            case "roster" when bare?.Roster is Roster.Roster roster:
                PushRoster(lua, roster);
                return 1;
            default:
                lua.PushNil();
                return 1;
        }
    }

    /// <summary>Converts the Lua-held session.presence for C# readers (null if Lua let it go).</summary>
    private XmlElement? ReadHeldPresence(ClientSession session)
    {
        if (_disposed || session.LuaTable is not LuaRef table || table.IsReleased) return null;
        using var scope = LuaStack.Enter(State, 16);
        var lua = scope.Lua;
        lua.PushRef(_call);
        lua.PushRef(_entry);
        lua.RawGetField(-1, "held_presence");
        lua.Remove(-2);
        lua.PushRef(table);
        if (scope.PCall(2, 2) != LuaStatus.OK || !lua.ToBoolean(-2)) return null;
        return _stanzas.IsStanza(lua, -1) ? _stanzas.Read(lua, -1) : null;
    }
}
