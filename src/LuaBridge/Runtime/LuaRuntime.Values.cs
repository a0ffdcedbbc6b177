using KeraLua;
using LuaXmpp.Configuration;
using LuaXmpp.Hosts;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Runtime;

// Conversions of ordinary values between C# and Lua.
public sealed partial class LuaRuntime
{
    private const int MaxDataDepth = 64;

    /// <summary>Pushes a C# value: scalars, stanzas, sessions, config and data tables, module owners and Lua-held items.</summary>
    private void PushValue(Lua lua, object? value, int depth = 0)
    {
        switch (value)
        {
            case null: lua.PushNil(); break;
            case string s: lua.PushString(s); break;
            case bool b: lua.PushBoolean(b); break;
            case int i: lua.PushInteger(i); break;
            case long l: lua.PushInteger(l); break;
            case double d: lua.PushNumber(d); break;
            case float f: lua.PushNumber(f); break;
            case XmlElement e: _stanzas.Push(lua, e); break;
            case StanzaBuilder b: PushBuilder(lua, b); break;
            case Session session: PushSession(lua, session); break;
            case Roster.Roster roster: PushRoster(lua, roster); break;
            case Jid jid: lua.PushString(jid.ToString()); break;
            case LuaRef r when !r.IsReleased: lua.PushRef(r); break;
            case ModuleOwner owner: lua.PushRef(owner.Api); break;
            case DataTable table: PushData(lua, table, depth); break;
            case ConfigTable config: PushConfig(lua, config, depth); break;
            case DiscoIdentity identity: PushIdentity(lua, identity); break;
            default: lua.PushNil(); break;
        }
    }

    /// <summary>A stanza table whose builder cursor (last_add) stands where the C# builder's does.</summary>
    private void PushBuilder(Lua lua, StanzaBuilder builder)
    {
        _stanzas.Push(lua, builder.Root);
        if (builder.PathToCursor() is not { Count: > 0 } path) return;
        int root = lua.GetTop();
        lua.CreateTable(path.Count, 0);
        int open = lua.GetTop();
        lua.PushCopy(root);
        for (int i = 0; i < path.Count; i++)
        {
            lua.RawGetField(-1, "tags");
            lua.RawGetInteger(-1, path[i]);
            lua.Remove(-2);
            lua.Remove(-2);
            lua.PushCopy(-1);
            lua.RawSetInteger(open, i + 1);
        }
        lua.Pop(1);
        lua.RawSetField(root, "last_add");
    }

    private void PushIdentity(Lua lua, DiscoIdentity identity)
    {
        if (_itemTables.TryGetValue(identity, out var r) && !r.IsReleased)
        {
            lua.PushRef(r);
            return;
        }
        lua.CreateTable(0, 3);
        lua.PushString(identity.Category);
        lua.RawSetField(-2, "category");
        lua.PushString(identity.Type);
        lua.RawSetField(-2, "type");
        if (identity.Name is not null)
        {
            lua.PushString(identity.Name);
            lua.RawSetField(-2, "name");
        }
    }

    private void PushData(Lua lua, DataTable table, int depth)
    {
        if (depth > MaxDataDepth) throw new InvalidOperationException("data nested too deeply");
        lua.EnsureStack(8);
        lua.CreateTable(0, table.Count);
        foreach (var (key, value) in table)
        {
            PushValue(lua, key, depth + 1);
            PushValue(lua, value, depth + 1);
            lua.RawSet(-3);
        }
    }

    private void PushConfig(Lua lua, ConfigTable table, int depth)
    {
        if (depth > MaxDataDepth) throw new InvalidOperationException("config nested too deeply");
        lua.EnsureStack(8);
        lua.CreateTable(table.Array.Count, table.Hash.Count);
        for (int i = 0; i < table.Array.Count; i++)
        {
            PushValue(lua, table.Array[i], depth + 1);
            lua.RawSetInteger(-2, i + 1);
        }
        foreach (var (key, value) in table.Hash)
        {
            PushValue(lua, key, depth + 1);
            PushValue(lua, value, depth + 1);
            lua.RawSet(-3);
        }
    }

    /// <summary>A scalar, stanza or session at the index; other tables give null.</summary>
    private object? ReadScalar(Lua lua, int index) => lua.Type(index) switch
    {
        LuaType.Boolean => lua.ToBoolean(index),
        LuaType.Number => lua.IsInteger(index) ? (object)lua.ToInteger(index) : lua.ToNumber(index),
        LuaType.String => lua.ToString(index, false),
        LuaType.Table when _stanzas.IsStanza(lua, index) => _stanzas.Read(lua, index),
        LuaType.Table => SessionOf(lua, index),
        _ => null,
    };

    /// <summary>
    /// A stored value (contract §5.2): scalars, stanzas, and tables copied into
    /// <see cref="DataTable"/> with string, integer or boolean keys.
    /// </summary>
    private object? ReadData(Lua lua, int index, int depth = 0)
    {
        if (depth > MaxDataDepth) throw new InvalidOperationException("data nested too deeply");
        lua.EnsureStack(8);
        index = lua.AbsIndex(index);
        switch (lua.Type(index))
        {
            case LuaType.Nil: return null;
            case LuaType.Table when _stanzas.IsStanza(lua, index): return _stanzas.Read(lua, index);
            case LuaType.Table:
                var table = new DataTable();
                lua.PushNil();
                while (lua.Next(index))
                {
                    object? key = lua.Type(-2) switch
                    {
                        LuaType.String => lua.ToString(-2, false),
                        LuaType.Boolean => lua.ToBoolean(-2),
                        LuaType.Number when lua.IsInteger(-2) => lua.ToInteger(-2),
                        _ => null,
                    };
                    if (key is not null) table[key] = ReadData(lua, -1, depth + 1);
                    lua.Pop(1);
                }
                return table;
            case LuaType.Function or LuaType.UserData or LuaType.Thread or LuaType.LightUserData:
                throw new InvalidOperationException("cannot store a " + lua.Type(index).ToString().ToLowerInvariant());
            default:
                return ReadScalar(lua, index);
        }
    }

    private string? OptHost(Lua lua, int index)
    {
        var host = lua.OptString(index);
        return host is null or "*" ? null : host;
    }

    private HostContext RequireHost(Lua lua, int index)
    {
        var name = lua.OptString(index) ?? throw new ArgumentException("host expected");
        return _server.FindHost(name) ?? throw new ArgumentException("unknown host " + name);
    }

    private static void PushList<T>(Lua lua, IReadOnlyCollection<T> items, Action<T> push)
    {
        lua.CreateTable(items.Count, 0);
        long i = 0;
        foreach (var item in items)
        {
            push(item);
            lua.RawSetInteger(-2, ++i);
        }
    }
}
