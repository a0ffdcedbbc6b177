using KeraLua;
using LuaXmpp.Archive;
using LuaXmpp.Events;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Storage;

namespace LuaXmpp.LuaBridge.Runtime;

// The natives mod_mam calls: appends go to the archive's batching writer and return the id at
// once; queries and deletes run off the loop and call a Lua function back on the loop with the
// result, so no Lua coroutine ever waits across a C# frame and the loop never waits on SQL.
public sealed partial class LuaRuntime
{
    private ArchiveServices? _archiveServices;

    private void RegisterArchiveNatives(NativeTable n)
    {
        n.Add("mam_open", MamOpen);
        n.Add("mam_append", MamAppend);
        n.Add("mam_query", MamQuery);
        n.Add("mam_delete", MamDelete);
        n.Add("mam_fulltext_check", MamFullTextCheck);
        n.Add("mam_hook", MamHook);
        n.Add("mam_default_prefs", MamDefaultPrefs);
        n.Add("mam_flush", l => { StartAndCallBack(l, 1, ArchiveServicesOnce().FlushAsync().ContinueWith(t => (object?)!t.IsFaulted, TaskScheduler.Default), PushBooleanResult); return 1; });
    }

    /// <summary>The archives, created on first use; at server-stopped everything queued is committed.</summary>
    private ArchiveServices ArchiveServicesOnce()
    {
        if (_archiveServices is not null) return _archiveServices;
        var services = _archiveServices = new ArchiveServices(_server.Storage, _server.Loop.Time);
        // Runs on the loop during shutdown, before storage closes; the writer never needs the
        // loop to finish, so waiting here cannot deadlock.
        _server.GlobalEvents.Hook("server-stopped", _ =>
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return null;
        }, priority: 1000);
        return services;
    }

    private ArchiveService MamService(Lua lua) =>
        ArchiveServicesOnce().Find(StoreHost(lua), StoreName(lua)) ?? throw new ArgumentException("archive not opened (mam_open first)");

    // mam_open(host, store, {durability=, expires_after=seconds|nil, cleanup_interval=seconds,
    //   max_batch=n, commit_interval=seconds, hold_limit=n}) → true
    private int MamOpen(Lua lua)
    {
        string? durability = null;
        double? expiresAfter = null;
        double interval = 14400;
        var defaults = new ArchiveOptions();
        int maxBatch = defaults.MaxBatch;
        double commitInterval = defaults.CommitInterval.TotalSeconds;
        int holdLimit = defaults.HoldLimit;
        if (lua.Type(3) == LuaType.Table)
        {
            if (lua.RawGetField(3, "hold_limit") == LuaType.Number && double.IsFinite(lua.ToNumber(-1)))
                holdLimit = (int)Math.Clamp(lua.ToNumber(-1), 0, 10_000_000);
            lua.Pop(1);
            if (lua.RawGetField(3, "max_batch") == LuaType.Number && double.IsFinite(lua.ToNumber(-1)))
                maxBatch = (int)Math.Clamp(lua.ToNumber(-1), 1, 100_000);
            lua.Pop(1);
            if (lua.RawGetField(3, "commit_interval") == LuaType.Number && double.IsFinite(lua.ToNumber(-1)))
                commitInterval = Math.Clamp(lua.ToNumber(-1), 0, 60);
            lua.Pop(1);
            if (lua.RawGetField(3, "durability") == LuaType.String) durability = lua.ToString(-1, false);
            lua.Pop(1);
            if (lua.RawGetField(3, "expires_after") == LuaType.Number) expiresAfter = lua.ToNumber(-1);
            lua.Pop(1);
            if (lua.RawGetField(3, "cleanup_interval") == LuaType.Number) interval = lua.ToNumber(-1);
            lua.Pop(1);
        }
        var options = new ArchiveOptions
        {
            Durability = ArchiveOptions.ParseDurability(durability),
            MaxBatch = maxBatch,
            HoldLimit = holdLimit,
            CommitInterval = TimeSpan.FromSeconds(commitInterval),
        };
        var service = ArchiveServicesOnce().Open(StoreHost(lua), StoreName(lua), options);
        service.ScheduleExpiry(expiresAfter is { } s && double.IsFinite(s) ? TimeSpan.FromSeconds(s) : null, TimeSpan.FromSeconds(interval));
        lua.PushBoolean(true);
        return 1;
    }

    private readonly Dictionary<string, ArchiveMessageHooks> _mamHooks = new(StringComparer.Ordinal);

    // mam_hook(host, store, owner, {skip_namespaces = {ns, ...}, default_policy = true|false|"roster"}) → true:
    // mod_mam's message hooks and default policy in C# (ArchiveMessageHooks), which archive the
    // common case themselves and fire mam-archive-outgoing / -incoming / mam-strip-sender-id for
    // the rest; the module's unload unhooks them.
    private int MamHook(Lua lua)
    {
        var bus = RequireBus(lua, 1);
        var host = lua.OptString(1)!;
        var service = MamService(lua);
        var owner = lua.IsInteger(3) ? _owners.GetValueOrDefault(lua.ToInteger(3)) : null;
        var skip = new HashSet<string>(StringComparer.Ordinal);
        object? policy = null;
        if (lua.Type(4) == LuaType.Table)
        {
            if (lua.RawGetField(4, "skip_namespaces") == LuaType.Table)
            {
                for (long i = 1; lua.RawGetInteger(-1, i) == LuaType.String; i++)
                {
                    skip.Add(lua.ToString(-1, false)!);
                    lua.Pop(1);
                }
                lua.Pop(1);
            }
            lua.Pop(1);
            var type = lua.RawGetField(4, "default_policy");
            policy = type == LuaType.Boolean ? lua.ToBoolean(-1) : type == LuaType.String ? lua.ToString(-1, false) : null;
            lua.Pop(1);
        }
        var options = new ArchiveHookOptions(service.Options.Durability == ArchiveDurability.Batched ? service : null, skip, policy,
            bare => _server.Sessions.GetBare(bare) is not null, _server.Loop.Time);
        _mamHooks[host] = ArchiveMessageHooks.Hook(bus, host, options, owner);
        lua.PushBoolean(true);
        return 1;
    }

    // mam_default_prefs(host, user, none): whether the user has no stored preferences (mamprefs tells on read and set).
    private int MamDefaultPrefs(Lua lua)
    {
        if (_mamHooks.GetValueOrDefault(lua.OptString(1) ?? "") is { } hooks && lua.OptString(2) is { } user)
            hooks.DefaultPreferences(user, lua.ToBoolean(3));
        return 0;
    }

    // mam_append(host, store, user, stanza, when, with, on_commit?) → id | nil, "held-backlog-full"
    // on_commit(ok, err) runs on the loop once the item's batch is committed, or failed: mod_mam's
    // strict durability waits for it before the message goes on. Callbacks of one batch may reach
    // the loop in any order (each comes through the thread pool); mod_mam puts them back in order.
    private int MamAppend(Lua lua)
    {
        if (!_stanzas.IsStanza(lua, 4)) throw new ArgumentException("unsupported-datatype");
        var value = _stanzas.Read(lua, 4);
        long when = ReadWhen(lua, 5);
        var result = MamService(lua).TryAppend(lua.OptString(3) ?? "", value, when, lua.OptString(6));
        if (result is null)
        {
            // The archive holds failed writes up to its bound: this one cannot be promised.
            lua.PushNil();
            lua.PushString("held-backlog-full");
            return 2;
        }
        if (lua.Type(7) == LuaType.Function)
        {
            var committed = result.Committed.ContinueWith(t => (object?)(t.IsFaulted ? t.Exception!.GetBaseException() : true), TaskScheduler.Default);
            StartAndCallBack(lua, 7, committed, PushBooleanResult);
        }
        lua.PushString(result.Id);
        return 1;
    }

    // mam_query(host, store, user, query, callback) → true; later callback(items, total) or callback(nil, err).
    // With query.results = {to=, from=, queryid=} each item is {key, when, message}: the XEP-0313
    // result message built in C# and handed over as a lazy stanza, so that sending a page
    // never turns its items into Lua tables (ArchiveResultMessage says why).
    private int MamQuery(Lua lua)
    {
        var query = ReadQuery(lua, 4);
        var addressing = ReadResultAddressing(lua, 4);
        if (lua.Type(5) != LuaType.Function) throw new ArgumentException("callback expected");
        var task = MamService(lua).QueryAsync(lua.OptString(3) ?? "", query);
        Func<Lua, object?, int> push = addressing is null ? PushQueryResult : (l, r) => PushResultMessages(l, (ArchiveResult)r!, addressing);
        StartAndCallBack(lua, 5, task.ContinueWith(t => (object?)(t.IsFaulted ? t.Exception!.GetBaseException() : t.Result), TaskScheduler.Default), push);
        lua.PushBoolean(true);
        return 1;
    }

    private static ArchiveResultMessage.Addressing? ReadResultAddressing(Lua lua, int index)
    {
        if (lua.Type(index) != LuaType.Table) return null;
        if (lua.RawGetField(index, "results") != LuaType.Table)
        {
            lua.Pop(1);
            return null;
        }
        string? Str(string key)
        {
            lua.RawGetField(-1, key);
            var s = lua.OptString(-1);
            lua.Pop(1);
            return s;
        }
        var addressing = new ArchiveResultMessage.Addressing(Str("to"), Str("from"), Str("queryid"));
        lua.Pop(1);
        return addressing;
    }

    /// <summary>A page as {{key, when, message}...}, total (or nil, "item-not-found"); each
    /// message lazy until Lua touches it.</summary>
    private int PushResultMessages(Lua lua, ArchiveResult result, ArchiveResultMessage.Addressing addressing)
    {
        if (result.UnknownId) return PushArchiveResult(lua, result);
        PushList(lua, result.Items, item =>
        {
            lua.CreateTable(0, 3);
            lua.PushString(item.Key);
            lua.RawSetField(-2, "key");
            lua.PushInteger(item.When);
            lua.RawSetField(-2, "when");
            _stanzas.PushLazy(lua, ArchiveResultMessage.Build(item, addressing));
            lua.RawSetField(-2, "message");
        });
        if (result.Total is { } total) lua.PushInteger(total);
        else lua.PushNil();
        return 2;
    }

    // mam_fulltext_check(text) → true | nil, error text (XEP-0431: what a bad-request says)
    private static int MamFullTextCheck(Lua lua)
    {
        if (FullTextQuery.Parse(lua.OptString(1) ?? "", out var error) is not null) lua.PushBoolean(true);
        else
        {
            lua.PushNil();
            lua.PushString(error);
            return 2;
        }
        return 1;
    }

    // mam_delete(host, store, user, query, callback?) → true; later callback(count) or callback(nil, err)
    private int MamDelete(Lua lua)
    {
        var query = ReadQuery(lua, 4);
        var task = MamService(lua).DeleteAsync(lua.OptString(3) ?? "", query)
            .ContinueWith(t => (object?)(t.IsFaulted ? t.Exception!.GetBaseException() : t.Result), TaskScheduler.Default);
        if (lua.Type(5) == LuaType.Function) StartAndCallBack(lua, 5, task, (l, r) => { l.PushInteger((long)r!); return 1; });
        lua.PushBoolean(true);
        return 1;
    }

    /// <summary>
    /// Keeps the Lua function at <paramref name="index"/> and calls it on the loop with the
    /// task's result once it completes: an exception result becomes (nil, message).
    /// </summary>
    private void StartAndCallBack(Lua lua, int index, Task<object?> task, Func<Lua, object?, int> push)
    {
        lua.PushCopy(index);
        var callback = new LuaRef(lua.PopRef());
        task.ContinueWith(t => _server.Loop.Post(() => CallBack(callback, t.Result, push)), TaskScheduler.Default);
    }

    private void CallBack(LuaRef callback, object? result, Func<Lua, object?, int> push)
    {
        if (_disposed) return;
        var scope = LuaStack.Enter(_main);
        var lua = scope.Lua;
        try
        {
            lua.PushRef(_call);
            lua.PushRef(callback);
            int n;
            if (result is Exception ex)
            {
                lua.PushNil();
                lua.PushString(ex.Message);
                n = 2;
            }
            else n = push(lua, result);
            if (scope.PCall(1 + n, 2) != LuaStatus.OK) _log.Error("Archive callback failed: " + lua.ToString(-1, false));
            else if (!lua.ToBoolean(-2)) _log.Error("Error in archive callback: " + (lua.RawString(-1) ?? "?"));
        }
        finally
        {
            scope.Dispose();
            lua.Release(callback);
        }
    }

    private static int PushBooleanResult(Lua lua, object? result)
    {
        lua.PushBoolean(result is true);
        return 1;
    }

    private int PushQueryResult(Lua lua, object? value) => PushArchiveResult(lua, (ArchiveResult)value!);
}
