using KeraLua;
using LuaXmpp.Hosts;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// Module loading without blocking the loop (issue 11 point 4). entry.load_module runs the
// module's file and its module.load in a pooled util.async runner (bridge.load_module). Most loads
// finish at once; one that waits (it reads storage or SQL that is slow or locked) suspends its
// runner, the loop goes on serving everyone, and load_done completes the load's task when the
// runner finishes. The module manager awaits that task before it loads the next module, so a
// load still sees what the loads before it set up. A load that waits longer than the timeout is
// abandoned (entry.abandon_load): the host forgets it now, and whatever it set up is discarded
// when its wait ends.
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, PendingLoad> _pendingLoads = new();
    private readonly Dictionary<(string Host, string Name), Task<string?>> _loadsUnderWay = new();
    private long _nextLoadId;

    private sealed record PendingLoad(TaskCompletionSource<string?> Done, string Host, string Name)
    {
        public IDisposable? Timer { get; set; }
    }

    public Task<string?> LoadAsync(HostContext host, string name, TimeSpan timeout) => LoadModuleAsync(host.Name, name, timeout);

    /// <summary>Loads a module on a host, or "*" for a global one; a second request while it loads gets the same task.</summary>
    private Task<string?> LoadModuleAsync(string host, string name, TimeSpan timeout)
    {
        AssertLoop();
        if (_loadsUnderWay.TryGetValue((host, name), out var running)) return running;
        long id = ++_nextLoadId;
        var lua = State;
        using (var scope = LuaStack.Enter(lua))
        {
            PushEntryCall(lua, "load_module");
            lua.PushString(host);
            lua.PushString(name);
            lua.PushInteger(id);
            // → called, finished, xpcall ok, result, message
            if (scope.PCall(4, 5) != LuaStatus.OK) return Task.FromResult<string?>(lua.ToString(-1, false));
            if (!lua.ToBoolean(-5)) return Task.FromResult<string?>(lua.RawString(-4) ?? "error");
            if (lua.ToBoolean(-4)) return Task.FromResult(LoadOutcome(lua, -3, host, name));
        }
        var load = new PendingLoad(new TaskCompletionSource<string?>(), host, name);
        _pendingLoads[id] = load;
        _loadsUnderWay[(host, name)] = load.Done.Task;
        load.Timer = _server.Loop.AddTimer(timeout, () =>
        {
            AbandonLoad(id, $"did not finish loading within {timeout.TotalSeconds:0.###} s (module_load_timeout); it waits for something that did not come");
            return null;
        });
        return load.Done.Task;
    }

    /// <summary>Pushes entry.call and the entry point it is to call under xpcall.</summary>
    private void PushEntryCall(Lua lua, string entryPoint)
    {
        lua.PushRef(_call);
        lua.PushRef(_entry);
        lua.RawGetField(-1, entryPoint);
        lua.Remove(-2);
    }

    /// <summary>The error of a load from (ok, result, message) at <paramref name="index"/>: null when it loaded.</summary>
    private string? LoadOutcome(Lua lua, int index, string host, string name)
    {
        if (!lua.ToBoolean(index)) return lua.RawString(index + 1) ?? "error";
        if (!lua.ToBoolean(index + 1)) return lua.RawString(index + 2) ?? $"mod_{name} is not loaded on {host}";
        // Says which file won the plugin-path search (a Lua file shadows a native module).
        _log.Info($"Loaded mod_{name} on {host} from {FindModuleFile(name)}");
        return null;
    }

    // load_done(id, ok, result, message): a load that waited has finished (or raised).
    private int LoadDone(Lua lua)
    {
        long id = lua.ToInteger(1);
        if (!_pendingLoads.Remove(id, out var load)) return 0;
        load.Timer?.Dispose();
        _loadsUnderWay.Remove((load.Host, load.Name));
        load.Done.TrySetResult(LoadOutcome(lua, 2, load.Host, load.Name));
        return 0;
    }

    public bool CancelLoad(HostContext host, string name) => CancelLoad(host.Name, name);

    /// <summary>
    /// The module is unloaded while its load waits (module manager, or a global module's unload):
    /// the load ends now as not loaded, and Lua discards what it set up when its wait ends.
    /// </summary>
    internal bool CancelLoad(string host, string name)
    {
        long waiting = 0;
        foreach (var (id, load) in _pendingLoads)
        {
            if (load.Host == host && load.Name == name) waiting = id;
        }
        return waiting != 0 && AbandonLoad(waiting, "unloaded while it was loading");
    }

    /// <summary>
    /// Gives up a load that waits (past its timeout, or unloaded meanwhile): it is not loaded, its
    /// task completes with <paramref name="why"/>, and Lua discards it when its wait ends.
    /// </summary>
    private bool AbandonLoad(long id, string why)
    {
        if (_disposed || !_pendingLoads.Remove(id, out var load)) return false;
        load.Timer?.Dispose();
        _loadsUnderWay.Remove((load.Host, load.Name));
        var lua = _main;
        using (var scope = LuaStack.Enter(lua))
        {
            PushEntryCall(lua, "abandon_load");
            lua.PushInteger(id);
            if (scope.PCall(2, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
                _log.Error($"Abandoning the load of mod_{load.Name} on {load.Host} failed: {lua.ToString(-1, false)}");
        }
        load.Done.TrySetResult(why);
        return true;
    }

    /// <summary>Loads still under way when the runtime goes away end as not loaded.</summary>
    private void FailPendingLoads()
    {
        foreach (var load in _pendingLoads.Values)
        {
            load.Timer?.Dispose();
            load.Done.TrySetResult("the server is stopping");
        }
        _pendingLoads.Clear();
        _loadsUnderWay.Clear();
    }

    // modules_load(host, name) → true | nil, message; PENDING, id while the load waits (a caller
    // in a runner, as module:depends in another module's load, suspends until it ended).
    private int ModulesLoad(Lua lua)
    {
        var hostName = lua.OptString(1) ?? "*";
        var name = lua.OptString(2) ?? throw new ArgumentException("module name expected");
        var task = hostName == "*"
            ? CanLoad(name) ? LoadModuleAsync("*", name, _server.Modules.LoadTimeout) : Task.FromResult<string?>("module not found")
            : _server.Modules.LoadAsync(RequireHost(lua, 1), name);
        return PushWhenDone(lua, task, l =>
        {
            if (task.Result is not { } error)
            {
                l.PushBoolean(true);
                return 1;
            }
            l.PushNil();
            l.PushString(error);
            return 2;
        });
    }
}
