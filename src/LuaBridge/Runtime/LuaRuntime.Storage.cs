using KeraLua;
using LuaXmpp.Accounts;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Storage;

namespace LuaXmpp.LuaBridge.Runtime;

// Storage and account primitives. Prosody's store API is synchronous, the C# one Task-based:
// each primitive starts the task and returns its results at once when it already completed,
// otherwise (PENDING, id) — bridge.await (storagemanager.lua, usermanager.lua) then suspends the
// calling util.async runner until the results are there (LuaRuntime.Pending.cs). Stanza
// handlers, event chains, timers and module loading all run in runners; outside every runner
// (a session filter) the loop never waits: a write goes on by itself, a read raises.
public sealed partial class LuaRuntime
{
    private void RegisterStorageNatives(NativeTable n)
    {
        n.Add("kv_get", l => Later(l, KeyValue(l).GetAsync(l.OptString(3)), (lua, v) => PushValue(lua, v)));
        n.Add("kv_set", KeyValueSet);
        n.Add("kv_users", l => Later(l, CollectAsync(KeyValue(l).UsersAsync()), PushStrings));
        n.Add("map_get", l => Later(l, Map(l).GetAsync(l.OptString(3), MapKey(l, 4)), (lua, v) => PushValue(lua, v)));
        n.Add("map_set", l => Done(l, Map(l).SetAsync(l.OptString(3), MapKey(l, 4), ReadData(l, 5))));
        n.Add("map_set_keys", MapSetKeys);
        n.Add("archive_append", ArchiveAppend);
        n.Add("archive_find", ArchiveFind);
        n.Add("archive_delete", l => Later(l, Archive(l).DeleteAsync(l.OptString(3), ReadQuery(l, 4)), (lua, count) => lua.PushInteger(count)));
        n.Add("storage_purge", l => Done(l, _server.Storage.PurgeUserAsync(l.OptString(1) ?? "", l.OptString(2) ?? "")));

        n.Add("user_exists", l => Later(l, Auth(l).UserExistsAsync(l.OptString(2) ?? ""), (lua, b) => lua.PushBoolean(b)));
        n.Add("user_create", l => UserResult(l, Auth(l).CreateUserAsync(l.OptString(2) ?? "", l.OptString(3) ?? ""), "user-exists"));
        n.Add("user_set_password", l => UserResult(l, Auth(l).SetPasswordAsync(l.OptString(2) ?? "", l.OptString(3) ?? ""), "no-such-user"));
        n.Add("user_delete", l => UserResult(l, Auth(l).DeleteUserAsync(l.OptString(2) ?? ""), "no-such-user"));
        n.Add("user_test_password", l => Later(l, Auth(l).TestPasswordAsync(l.OptString(2) ?? "", l.OptString(3) ?? ""), (lua, b) => lua.PushBoolean(b)));
        n.Add("user_list", l => Later(l, CollectAsync(Auth(l).UsersAsync()), PushStrings));
        n.Add("user_scram", UserScram);
    }

    // user_scram(host, user, "sha_1" | "sha_256") → stored_key, server_key, iterations, salt (raw
    // bytes, as Prosody's SCRAM backends return them), or nil for no such user or keys.
    private int UserScram(Lua lua)
    {
        var hash = lua.OptString(3) == "sha_1" ? ScramHash.Sha1 : ScramHash.Sha256;
        var task = Auth(lua).GetScramCredentialsAsync(lua.OptString(2) ?? "", hash);
        return PushWhenDone(lua, task, l =>
        {
            if (task.Result is not { } keys)
            {
                l.PushNil();
                return 1;
            }
            l.PushBuffer(keys.StoredKey);
            l.PushBuffer(keys.ServerKey);
            l.PushInteger(keys.Iterations);
            l.PushBuffer(keys.Salt);
            return 4;
        });
    }

    /// <summary>One result from a storage task, now or after a wait (see <see cref="PushWhenDone"/>).</summary>
    private int Later<T>(Lua lua, Task<T> task, Action<Lua, T> push) =>
        PushWhenDone(lua, task, l =>
        {
            push(l, task.Result);
            return 1;
        });

    /// <summary>A storage task without a result: true once it is done.</summary>
    private int Done(Lua lua, Task task) => PushWhenDone(lua, task, PushTrue);

    private void PushStrings(Lua lua, List<string> list) => PushList(lua, list, lua.PushString);

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

    private int UserResult(Lua lua, Task<bool> task, string error) =>
        PushWhenDone(lua, task, l =>
        {
            if (task.Result)
            {
                l.PushBoolean(true);
                return 1;
            }
            l.PushNil();
            l.PushString(error);
            return 2;
        });

    private int KeyValueSet(Lua lua)
    {
        var data = ReadData(lua, 4);
        if (data is not (null or DataTable)) throw new ArgumentException("keyval data must be a table");
        return Done(lua, KeyValue(lua).SetAsync(lua.OptString(3), data as DataTable));
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
        return Done(lua, Map(lua).SetKeysAsync(lua.OptString(3), values));
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
        return Later(lua, Archive(lua).AppendAsync(lua.OptString(3), lua.OptString(4), value, when, lua.OptString(7)), (l, id) => l.PushString(id));
    }

    // archive_find(host, store, user, query) → {{key, value, when, with}...}, total | nil, "item-not-found"
    private int ArchiveFind(Lua lua)
    {
        var query = ReadQuery(lua, 4);
        var task = Archive(lua).FindAsync(lua.OptString(3), query);
        return PushWhenDone(lua, task, l => PushArchiveResult(l, task.Result));
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
