using KeraLua;
using LuaXmpp.Accounts;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Storage;

namespace LuaXmpp.LuaBridge.Runtime;

// Storage and account primitives. COMPAT: Prosody's store API is synchronous, the C# one is
// Task-based. For now these wait for the task on the loop thread; the drivers complete with
// ConfigureAwait(false), so no continuation needs the loop and this cannot deadlock, but the
// loop is blocked for the I/O. The plan is to yield the calling coroutine instead (style guide
// §3.3 "Async storage") once stanza dispatch runs inside Lua runners.
public sealed partial class LuaRuntime
{
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    private void RegisterStorageNatives(NativeTable n)
    {
        n.Add("kv_get", l => { PushValue(l, Wait(KeyValue(l).GetAsync(l.OptString(3)))); return 1; });
        n.Add("kv_set", KeyValueSet);
        n.Add("kv_users", KeyValueUsers);
        n.Add("map_get", l => { PushValue(l, Wait(Map(l).GetAsync(l.OptString(3), MapKey(l, 4)))); return 1; });
        n.Add("map_set", l => { Wait(Map(l).SetAsync(l.OptString(3), MapKey(l, 4), ReadData(l, 5))); l.PushBoolean(true); return 1; });
        n.Add("map_set_keys", MapSetKeys);
        n.Add("archive_append", ArchiveAppend);
        n.Add("archive_find", ArchiveFind);
        n.Add("archive_delete", l => { l.PushInteger(Wait(Archive(l).DeleteAsync(l.OptString(3), ReadQuery(l, 4)))); return 1; });
        n.Add("storage_purge", l => { Wait(_server.Storage.PurgeUserAsync(l.OptString(1) ?? "", l.OptString(2) ?? "")); l.PushBoolean(true); return 1; });

        n.Add("user_exists", l => { l.PushBoolean(Wait(Auth(l).UserExistsAsync(l.OptString(2) ?? ""))); return 1; });
        n.Add("user_create", l => UserResult(l, Wait(Auth(l).CreateUserAsync(l.OptString(2) ?? "", l.OptString(3) ?? "")), "user-exists"));
        n.Add("user_set_password", l => UserResult(l, Wait(Auth(l).SetPasswordAsync(l.OptString(2) ?? "", l.OptString(3) ?? "")), "no-such-user"));
        n.Add("user_delete", l => UserResult(l, Wait(Auth(l).DeleteUserAsync(l.OptString(2) ?? "")), "no-such-user"));
        n.Add("user_test_password", l => { l.PushBoolean(Wait(Auth(l).TestPasswordAsync(l.OptString(2) ?? "", l.OptString(3) ?? ""))); return 1; });
        n.Add("user_list", UserList);
    }

    private IKeyValueStore KeyValue(Lua lua) => _server.Storage.OpenKeyValue(StoreHost(lua), StoreName(lua));

    private IMapStore Map(Lua lua) => _server.Storage.OpenMap(StoreHost(lua), StoreName(lua));

    private IArchiveStore Archive(Lua lua) => _server.Storage.OpenArchive(StoreHost(lua), StoreName(lua));

    private static string StoreHost(Lua lua) => lua.OptString(1) ?? throw new ArgumentException("host expected");

    private static string StoreName(Lua lua) => lua.OptString(2) ?? throw new ArgumentException("store name expected");

    private IAuthProvider Auth(Lua lua) => _server.Auth(lua.OptString(1) ?? throw new ArgumentException("host expected"));

    private static object MapKey(Lua lua, int index) => lua.Type(index) switch
    {
        LuaType.String => lua.ToString(index, false),
        LuaType.Boolean => lua.ToBoolean(index),
        LuaType.Number when lua.IsInteger(index) => lua.ToInteger(index),
        _ => throw new ArgumentException("map key must be a string, integer or boolean"),
    };

    private static int UserResult(Lua lua, bool ok, string error)
    {
        if (ok)
        {
            lua.PushBoolean(true);
            return 1;
        }
        lua.PushNil();
        lua.PushString(error);
        return 2;
    }

    private int KeyValueSet(Lua lua)
    {
        var data = ReadData(lua, 4);
        if (data is not (null or DataTable)) throw new ArgumentException("keyval data must be a table");
        Wait(KeyValue(lua).SetAsync(lua.OptString(3), data as DataTable));
        lua.PushBoolean(true);
        return 1;
    }

    private int KeyValueUsers(Lua lua)
    {
        var users = Wait(CollectAsync(KeyValue(lua).UsersAsync()));
        PushList(lua, users, lua.PushString);
        return 1;
    }

    private int UserList(Lua lua)
    {
        var users = Wait(CollectAsync(Auth(lua).UsersAsync()));
        PushList(lua, users, lua.PushString);
        return 1;
    }

    private static async Task<List<string>> CollectAsync(IAsyncEnumerable<string> source)
    {
        var list = new List<string>();
        await foreach (var s in source.ConfigureAwait(false)) list.Add(s);
        return list;
    }

    // map_set_keys(host, store, user, {k = v}, {removed keys})
    private int MapSetKeys(Lua lua)
    {
        var values = new Dictionary<object, object?>();
        if (ReadData(lua, 4) is DataTable set)
        {
            foreach (var (k, v) in set) values[k] = v;
        }
        if (lua.Type(5) == LuaType.Table)
        {
            long count = lua.RawLen(5);
            for (long i = 1; i <= count; i++)
            {
                lua.RawGetInteger(5, i);
                values[MapKey(lua, -1)] = null;
                lua.Pop(1);
            }
        }
        Wait(Map(lua).SetKeysAsync(lua.OptString(3), values));
        lua.PushBoolean(true);
        return 1;
    }

    /// <summary>An archive time: integral Unix seconds (Prosody's "when"; Lua's os.date rejects fractions), now if absent.</summary>
    private long ReadWhen(Lua lua, int index) =>
        lua.Type(index) == LuaType.Number ? (long)Math.Floor(lua.ToNumber(index)) : _server.Loop.Time.GetUtcNow().ToUnixTimeSeconds();

    // archive_append(host, store, user, key, stanza, when, with) → id
    private int ArchiveAppend(Lua lua)
    {
        if (!_stanzas.IsStanza(lua, 5)) throw new ArgumentException("unsupported-datatype");
        var value = _stanzas.Read(lua, 5);
        long when = ReadWhen(lua, 6);
        var id = Wait(Archive(lua).AppendAsync(lua.OptString(3), lua.OptString(4), value, when, lua.OptString(7)));
        lua.PushString(id);
        return 1;
    }

    // archive_find(host, store, user, query) → {{key, value, when, with}...}, total | nil, "item-not-found"
    private int ArchiveFind(Lua lua)
    {
        var query = ReadQuery(lua, 4);
        return PushArchiveResult(lua, Wait(Archive(lua).FindAsync(lua.OptString(3), query)));
    }

    /// <summary>An archive page as Lua sees it: {{key, value, when, with}...}, total — or nil, "item-not-found".</summary>
    private int PushArchiveResult(Lua lua, ArchiveResult result)
    {
        if (result.UnknownId)
        {
            lua.PushNil();
            lua.PushString("item-not-found");
            return 2;
        }
        PushList(lua, result.Items, item =>
        {
            lua.CreateTable(0, 4);
            lua.PushString(item.Key);
            lua.RawSetField(-2, "key");
            _stanzas.Push(lua, item.Value);
            lua.RawSetField(-2, "value");
            lua.PushInteger(item.When);
            lua.RawSetField(-2, "when");
            if (item.With is not null)
            {
                lua.PushString(item.With);
                lua.RawSetField(-2, "with");
            }
        });
        if (result.Total is { } total) lua.PushInteger(total);
        else lua.PushNil();
        return 2;
    }

    private static ArchiveQuery ReadQuery(Lua lua, int index)
    {
        if (lua.Type(index) != LuaType.Table) return new ArchiveQuery();
        string? Str(string key)
        {
            lua.RawGetField(index, key);
            var s = lua.OptString(-1);
            lua.Pop(1);
            return s;
        }
        long? Num(string key)
        {
            lua.RawGetField(index, key);
            long? v = lua.Type(-1) == LuaType.Number ? (long)Math.Floor(lua.ToNumber(-1)) : null;
            lua.Pop(1);
            return v;
        }
        bool Flag(string key)
        {
            lua.RawGetField(index, key);
            bool v = lua.ToBoolean(-1);
            lua.Pop(1);
            return v;
        }
        List<string>? ids = null;
        if (lua.RawGetField(index, "ids") == LuaType.Table)
        {
            ids = new List<string>();
            long count = lua.RawLen(-1);
            for (long i = 1; i <= count; i++)
            {
                lua.RawGetInteger(-1, i);
                if (lua.OptString(-1) is { } id) ids.Add(id);
                lua.Pop(1);
            }
        }
        lua.Pop(1);
        return new ArchiveQuery
        {
            With = Str("with"),
            Start = Num("start"),
            End = Num("end"),
            Before = Str("before"),
            After = Str("after"),
            Ids = ids,
            FullText = Str("fulltext") is { } text ? FullTextQuery.Parse(text, out var error) ?? throw new ArgumentException(error) : null,
            Limit = Num("limit") is { } limit ? (int)Math.Clamp(limit, 0, int.MaxValue) : null,
            // An empty RSM <before/> (before = true) asks for the last page.
            Reverse = Flag("reverse") || (Flag("before") && Str("before") is null),
            WantTotal = Flag("total"),
        };
    }
}
