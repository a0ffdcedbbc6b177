using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KeraLua;
using LuaXmpp.Events;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Runtime;

// Chains fired from C# that hold Lua handlers run inside util.async runners (contract §0.8):
// the bus hands the chain to bridge.dispatch, which walks it in a Lua coroutine and calls the
// C# handlers back through fire_native. Chains without Lua handlers never come here.
//
// What a C# caller gets back: if the chain finished (no handler waited), exactly what the walk
// returned, with the event's changes copied into the EventData, synchronously and without
// allocating — the same as a native chain. If a handler waited, a pending ValueTask that
// completes when the walk finishes (bridge.dispatch calls dispatch_done from the runner), with
// the event's changes copied in first; the router awaits it, so the pass (later events,
// delivery, the default replies) goes on after the wait, as Prosody runs the whole of stanza
// routing in the session's runner. A pass that stays pending too long is reported with the
// module whose handler waits (PassWatchdog).
public sealed partial class LuaRuntime : IChainDispatcher
{
    private readonly Dictionary<long, EventData> _dispatchEvents = new();
    private readonly List<EventData> _builtEvents = new();
    private readonly Dictionary<long, PendingDispatch> _pendingDispatches = new();
    private readonly Dictionary<ClientSession, TaskCompletionSource> _pausedInput = new(ReferenceEqualityComparer.Instance);
    private int _dispatch = LuaRef.NoRef;
    private int _eventIds = LuaRef.NoRef;

    /// <summary>How many chains were handed to Lua (tests: a chain without Lua handlers stays native).</summary>
    internal long Dispatches { get; private set; }

    /// <summary>How many of them C# walked by resuming a session runner's thread itself (tests: ResumeWalk is taken).</summary>
    internal long DirectWalks { get; private set; }

    /// <summary>Dispatches C# still tracks by id: those running or waiting (tests: finished ones leave none behind).</summary>
    internal int TrackedDispatches => _dispatchEvents.Count;

    /// <summary>How many event tables Lua took back for reuse (tests: reuse happens where it may).</summary>
    internal long ReusedEvents { get; private set; }

    /// <summary>Stopwatch ticks spent in Lua dispatches up to their return or first wait (metrics).</summary>
    private long _dispatchTicks;

    /// <summary>
    /// How long a waiting handler may hold its pass before the log names it (it is not
    /// cancelled): option handler_wait_warning (seconds, global), 30 by default.
    /// </summary>
    private TimeSpan WaitWarning => _waitWarning ??=
        TimeSpan.FromSeconds(Math.Clamp(_server.Config.GetNumber(null, "handler_wait_warning") ?? 30, 0.1, 86_400));

    private TimeSpan? _waitWarning;

    private sealed record PendingDispatch(EventData Event, EventRef Ref, string Name, TaskCompletionSource<object?> Done)
    {
        public IDisposable? Watchdog { get; set; }
    }

    public bool Claims(EventHandlerEntry entry) => entry.Callback.Target is LuaHandler;

    /// <summary>
    /// Runs the C# handlers before the first and after the last Lua handler here, in C#, and only
    /// the part between in Lua (issue 11: fewer crossings per chain). A bus with Lua wrappers is
    /// walked whole in Lua, since its wrappers wrap every handler.
    /// </summary>
    public ValueTask<object?> Run(EventBus bus, string name, IReadOnlyList<EventHandlerEntry> chain, EventData e, bool mayWait)
    {
        AssertLoop();
        if (_disposed) return default;
        int firstLua = 0, lastLua = chain.Count - 1;
        if (!_wrappedBuses.Contains(bus))
        {
            while (firstLua <= lastLua && chain[firstLua].Callback.Target is not LuaHandler) firstLua++;
            while (lastLua >= firstLua && chain[lastLua].Callback.Target is not LuaHandler) lastLua--;
        }
        // The usual chain, Lua handlers only: no ChainRun to allocate.
        if (firstLua == 0 && lastLua == chain.Count - 1 && firstLua <= lastLua)
        {
            var walked = WalkInLua(bus, name, e, mayWait, 1, lastLua + 1);
            return walked.IsCompletedSuccessfully ? walked : AfterLua(new ChainRun(bus, name, e, mayWait, chain, firstLua, lastLua), walked, chain.Count);
        }
        return RunFrom(new ChainRun(bus, name, e, mayWait, chain, firstLua, lastLua), 0);
    }

    private sealed record ChainRun(EventBus Bus, string Name, EventData Event, bool MayWait,
        IReadOnlyList<EventHandlerEntry> Chain, int FirstLua, int LastLua);

    private readonly HashSet<EventBus> _wrappedBuses = new(ReferenceEqualityComparer.Instance);

    // bus_wrapped(bus): the bus has Lua wrappers; its chains go to Lua whole from now on.
    private int BusWrapped(Lua lua)
    {
        _wrappedBuses.Add(RequireBus(lua, 1));
        return 0;
    }

    private ValueTask<object?> RunFrom(ChainRun run, int start)
    {
        var chain = run.Chain;
        for (int i = start; i < chain.Count; i++)
        {
            if (i == run.FirstLua && run.FirstLua <= run.LastLua)
            {
                var walked = WalkInLua(run.Bus, run.Name, run.Event, run.MayWait, run.FirstLua + 1, run.LastLua + 1);
                if (!walked.IsCompletedSuccessfully) return AfterLua(run, walked, run.LastLua + 1);
                if (walked.Result is not null) return walked;
                i = run.LastLua;
                continue;
            }
            var entry = chain[i];
            if (entry.Removed) continue;
            var result = entry.Callback(run.Event);
            if (result is null) continue;
            if (result is Task<object?> task)
            {
                if (!task.IsCompleted) return AfterNative(run, task, i + 1);
                result = Pending.ResultOf(task);
                if (result is null) continue;
            }
            return new ValueTask<object?>(result);
        }
        return default;
    }

    private async ValueTask<object?> AfterLua(ChainRun run, ValueTask<object?> walked, int next) =>
        await walked ?? await RunFrom(run, next);

    private async ValueTask<object?> AfterNative(ChainRun run, Task<object?> task, int next)
    {
        await Pending.Settle(task);
        return Pending.ResultOf(task) ?? await RunFrom(run, next);
    }

    private readonly Dictionary<string, int> _nameRefs = new(StringComparer.Ordinal);

    // A direct-mapped cache of name objects recently pushed and their registry references.
    private const int RecentNames = 64;
    private readonly string?[] _recentNames = new string?[RecentNames];
    private readonly int[] _recentNameRefs = new int[RecentNames];

    /// <summary>
    /// Pushes a bus or event name: the Lua string is made once and kept in the registry (a
    /// PushString encodes and hashes the name on every dispatch). Names are few (one per hooked
    /// event); past 4096 of them the rest are pushed as they come.
    /// </summary>
    private void PushName(Lua lua, string name)
    {
        // First by the string's identity (names are mostly literals): no hashing of the text.
        int line = RuntimeHelpers.GetHashCode(name) & (RecentNames - 1);
        if (ReferenceEquals(_recentNames[line], name))
        {
            HotApi.lua_rawgeti(lua.Handle, (int)LuaRegistry.Index, _recentNameRefs[line]);
            return;
        }
        if (_nameRefs.TryGetValue(name, out var reference))
        {
            _recentNames[line] = name;
            _recentNameRefs[line] = reference;
            HotApi.lua_rawgeti(lua.Handle, (int)LuaRegistry.Index, reference);
            return;
        }
        lua.PushString(name);
        if (_nameRefs.Count >= 4096) return;
        lua.PushCopy(-1);
        _nameRefs[name] = lua.PopRef();
    }

    /// <summary>Walks chain entries first..last (1-based, as Lua's list) in a runner.</summary>
    private ValueTask<object?> WalkInLua(EventBus bus, string name, EventData e, bool mayWait, int first, int last)
    {
        // The time spent (metric lua_dispatch) is sampled: one dispatch in 16, the first included,
        // counted 16 times (two clock reads are a few percent of a dispatch).
        bool timed = (++Dispatches & 15) == 1;
        long started = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        var lua = State;
        var scope = LuaStack.Enter(lua);
        long id = ++_nextHandlerId;
        bool pending = false, built = false, stacked = false;
        EventRef? r = null;
        try
        {
            var L = lua.Handle;
            // An event of only origin and stanza that Lua has not seen yet is made by
            // bridge.dispatch (issue 11: a table constructor in Lua instead of a dozen C API
            // calls) and kept in the slot given here.
            built = e.LuaTable is not EventRef { IsReleased: false } && !e.HasFields && LazyStanzas(lua);
            if (built && e is { Stanza: { } message, Origin: ClientSession { Destroyed: false } client }
                && _runnerThreads.TryGetValue(client, out var idle) && idle.Idle && LuaStack.lua_status(idle.Thread) == LuaStack.Yielded)
            {
                // The session runner's thread is idle: C# resumes it with the walk itself.
                // The release is posted only if Lua kept the table (or handles want a sweep):
                // a work item whose events were all taken back for reuse has nothing to end.
                r = TrackEvent(e, postRelease: false);
                _builtEvents.Add(e);
                stacked = true;
                var resumed = ResumeWalk(lua, in scope, bus, name, e, r, client, message, idle, id, mayWait, first, last);
                pending = !resumed.IsCompleted;
                return resumed;
            }
            HotApi.lua_rawgeti(L, (int)LuaRegistry.Index, _dispatch);
            PushName(lua, bus.Name);
            PushName(lua, name);
            if (built)
            {
                HotApi.lua_pushnil(L);
                r = TrackEvent(e);
            }
            else r = PushEvent(lua, e);
            HotApi.lua_pushinteger(L, id);
            HotApi.lua_pushboolean(L, mayWait ? 1 : 0);
            HotApi.lua_pushinteger(L, first);
            HotApi.lua_pushinteger(L, last);
            // A stanza event of a live c2s session walks in that session's runner (bridge.dispatch).
            HotApi.lua_pushboolean(L, e.Stanza is not null && e.Origin is ClientSession { Destroyed: false } ? 1 : 0);
            if (built && e.Origin is { } origin) PushSession(lua, origin);
            else HotApi.lua_pushnil(L);
            if (built && e.Stanza is { } stanza) HotApi.lua_pushinteger(L, _stanzas.LazyHandle(stanza));
            else HotApi.lua_pushnil(L);
            if (built) HotApi.lua_pushinteger(L, r!.Slot);
            else HotApi.lua_pushnil(L);
            // The session's runner may be busy with what this call does (bridge.dispatch says
            // afterwards whether C# may resume it itself again).
            var runnerThread = e.Origin is ClientSession cs ? _runnerThreads.GetValueOrDefault(cs) : null;
            if (runnerThread is not null) runnerThread.Idle = false;
            // While the walk runs, a C# handler reached from it finds this EventData by its table
            // (DispatchedEvent): an event Lua made, by its slot on this stack (no event_ids entry
            // per dispatch); any other through event_ids → id.
            if (built)
            {
                _builtEvents.Add(e);
                stacked = true;
            }
            else _dispatchEvents[id] = e;
            if (scope.PCall(11, 5) != LuaStatus.OK)
            {
                // The slot may not hold the table: later chains of the pass make a new one.
                if (built) r.Release();
                _log.Error($"Dispatch of '{name}' failed: {lua.ToString(-1, false)}");
                return default;
            }
            int table = LuaStack.Top(lua) - 1;
            if (e.Origin is ClientSession session) LearnRunnerThread(lua, session, runnerThread, table + 1);
            if (HotApi.lua_toboolean(L, table - 3) == 0)
            {
                // A handler waits: the walk goes on in its runner and reports through dispatch_done
                // (bridge.dispatch has entered the event in event_ids for the rest of the walk).
                pending = true;
                return Pend(e, r!, name, id, lua.IsInteger(table - 1) ? lua.ToInteger(table - 1) : 0);
            }
            object? result = HotApi.lua_type(L, table - 2) == (int)LuaType.Nil ? null : ResultOf(lua, table - 2);
            // Read back only what a handler changed (bridge.lua compares with a snapshot).
            if (HotApi.lua_toboolean(L, table - 1) != 0) SyncBack(lua, table, e, r!);
            return new ValueTask<object?>(result);
        }
        catch (Exception ex)
        {
            if (built) r?.Release();
            _log.Error($"Dispatch of '{name}' failed", ex);
            return default;
        }
        finally
        {
            if (stacked) _builtEvents.RemoveAt(_builtEvents.Count - 1);
            else if (!pending) _dispatchEvents.Remove(id);
            if (_liveEvents.Count > 0 || _stanzas.LazyCount >= _lazySweepAt) PostRelease();
            scope.Dispose();
            if (timed) _dispatchTicks += 16 * (System.Diagnostics.Stopwatch.GetTimestamp() - started);
        }
    }

    /// <summary>
    /// A session runner's coroutine, for C# to resume with a walk itself (issue 11: lua_resume
    /// instead of a protected call into bridge.dispatch that resumes it). Idle: C# saw it reach
    /// its "ready" yield (its own resume finished the walk, or bridge.dispatch found it so) and
    /// nothing has resumed it since; anything that may (bridge.dispatch, a wait) clears it first.
    /// The registry reference keeps the coroutine alive while C# holds its pointer.
    /// </summary>
    private sealed class RunnerThread(IntPtr thread, int reference)
    {
        public IntPtr Thread { get; } = thread;
        public int Reference { get; } = reference;
        public bool Idle { get; set; } = true;
    }

    private readonly Dictionary<ClientSession, RunnerThread> _runnerThreads = new(ReferenceEqualityComparer.Instance);

    /// <summary>After bridge.dispatch: the session's runner thread at <paramref name="index"/> if C# may resume it, else nil.</summary>
    private void LearnRunnerThread(Lua lua, ClientSession session, RunnerThread? known, int index)
    {
        if (HotApi.lua_type(lua.Handle, index) != (int)LuaType.Thread || session.Destroyed)
        {
            if (known is not null) known.Idle = false;
            return;
        }
        var thread = HotApi.lua_tothread(lua.Handle, index);
        if (known is not null && known.Thread == thread)
        {
            known.Idle = true;
            return;
        }
        ForgetRunnerThread(session);
        lua.PushCopy(index);
        _runnerThreads[session] = new RunnerThread(thread, lua.PopRef());
    }

    /// <summary>Drops C#'s hold on a session's runner thread (the session is gone, or its thread died).</summary>
    private void ForgetRunnerThread(Session session)
    {
        if (session is not ClientSession client || !_runnerThreads.Remove(client, out var known)) return;
        _main.Unref(LuaRegistry.Index, known.Reference);
    }

    /// <summary>
    /// Walks the chain in the session runner's thread, resumed by C# with the walk's arguments
    /// (core/bridge.lua run_direct, which makes the event as bridge.dispatch does): the walk's
    /// outcome comes back as the values of the thread's next "ready" yield. A handler that waits
    /// makes it yield "wait": the pass is pending as with bridge.dispatch (dispatch_done).
    /// </summary>
    private ValueTask<object?> ResumeWalk(Lua lua, in LuaScope scope, EventBus bus, string name, EventData e, EventRef r,
        ClientSession origin, XmlElement stanza, RunnerThread runner, long id, bool mayWait, int first, int last)
    {
        var L = lua.Handle;
        runner.Idle = false;
        DirectWalks++;
        PushName(lua, bus.Name);
        PushName(lua, name);
        HotApi.lua_pushboolean(L, 0);
        HotApi.lua_pushinteger(L, id);
        HotApi.lua_pushboolean(L, mayWait ? 1 : 0);
        HotApi.lua_pushinteger(L, first);
        HotApi.lua_pushinteger(L, last);
        if (origin.LuaTable is LuaRef { IsReleased: false } table) HotApi.lua_rawgeti(L, (int)LuaRegistry.Index, table.Reference);
        else PushSession(lua, origin);
        HotApi.lua_pushinteger(L, _stanzas.LazyHandle(stanza));
        HotApi.lua_pushinteger(L, r.Slot);
        var status = scope.Resume(runner.Thread, 10, out int results);
        int top = LuaStack.Top(lua);
        int outcome = results == 3 ? HotApi.lua_type(L, top - 1) : (int)LuaType.None;
        if (status == LuaStatus.Yield && outcome is (int)LuaType.Boolean or (int)LuaType.Number)
        {
            // yield("ready", changed, result): the walk finished without waiting. changed is 0
            // when the event came back unchanged and Lua took its table back for reuse (no
            // handler could keep it, core/escape.lua): its slot is free and empty, and later
            // chains of the pass get a new table.
            runner.Idle = true;
            object? result = HotApi.lua_type(L, top) == (int)LuaType.Nil ? null : ResultOf(lua, top);
            if (outcome == (int)LuaType.Number)
            {
                ReusedEvents++;
                ForgetEvent(r);
            }
            else if (HotApi.lua_toboolean(L, top - 1) != 0)
            {
                PushEventTable(lua, r);
                SyncBack(lua, top + 1, e, r);
            }
            return new ValueTask<object?>(result);
        }
        if (status == LuaStatus.Yield) return DirectWaits(lua, in scope, e, r, name, origin, id);
        // The thread raised outside the handlers' xpcall (a fault of bridge.lua): it is dead.
        var message = lua.ToString(-1, false);
        r.Release();
        _log.Error($"Dispatch of '{name}' failed: {message}");
        CallEntry(lua, in scope, "direct_failed", l =>
        {
            PushSession(l, origin);
            HotApi.lua_rawgeti(l.Handle, (int)LuaRegistry.Index, runner.Reference);
            l.PushString(message);
            return 3;
        });
        ForgetRunnerThread(origin);
        return default;
    }

    // A walk C# resumed waits: bridge.direct_waited sets the runner's state and names the module.
    private ValueTask<object?> DirectWaits(Lua lua, in LuaScope scope, EventData e, EventRef r, string name, ClientSession origin, long id)
    {
        long owner = 0;
        int slot = r.Slot;
        if (CallEntry(lua, in scope, "direct_waited", l =>
            {
                PushSession(l, origin);
                l.PushInteger(id);
                l.PushInteger(slot);
                return 3;
            }) && lua.IsInteger(-1))
            owner = lua.ToInteger(-1);
        return Pend(e, r, name, id, owner);
    }

    /// <summary>
    /// A walk waits (in its runner, from bridge.dispatch or a C# resume): the pass is pending until
    /// dispatch_done, and the log names <paramref name="owner"/>'s module if it waits too long.
    /// </summary>
    private ValueTask<object?> Pend(EventData e, EventRef r, string name, long id, long owner)
    {
        _dispatchEvents[id] = e;
        var waiting = new PendingDispatch(e, r, name, new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pendingDispatches[id] = waiting;
        waiting.Watchdog = _server.Loop.AddTimer(WaitWarning, () => WarnWaiting(id, owner));
        return new ValueTask<object?>(waiting.Done.Task);
    }

    /// <summary>Calls bridge.&lt;function&gt;(args pushed by <paramref name="push"/>) through bridge.call; its first result on top if true.</summary>
    private bool CallEntry(Lua lua, in LuaScope scope, string function, Func<Lua, int> push)
    {
        lua.PushRef(_call);
        lua.PushRef(_entry);
        lua.RawGetField(-1, function);
        lua.Remove(-2);
        int args = push(lua);
        if (scope.PCall(1 + args, 2) == LuaStatus.OK && lua.ToBoolean(-2)) return true;
        _log.Error($"bridge.{function} failed: {lua.ToString(-1, false)}");
        return false;
    }

    /// <summary>Whether util.stanza's lazy stanzas are there (resolved on first use).</summary>
    private bool LazyStanzas(Lua lua)
    {
        if (_lazyStanzaMt != LuaRef.NoRef) return true;
        if (!_stanzaMtResolved && PushLazyStanzaMetatable(lua)) lua.Pop(1);
        return _lazyStanzaMt != LuaRef.NoRef;
    }

    // dispatch_done(id, result, event, changed): a walk that waited has finished (called from its runner).
    private int DispatchDone(Lua lua)
    {
        long id = lua.ToInteger(1);
        _dispatchEvents.Remove(id);
        if (!_pendingDispatches.Remove(id, out var waiting)) return 0;
        waiting.Watchdog?.Dispose();
        object? result = ResultOf(lua, 2);
        if (lua.Type(3) == LuaType.Table && (lua.Type(4) == LuaType.None || lua.ToBoolean(4)))
        {
            try
            {
                SyncBack(lua, 3, waiting.Event, waiting.Ref);
            }
            catch (Exception ex)
            {
                _log.Error($"Could not read back the event '{waiting.Name}' after a wait", ex);
            }
        }
        // The continuation (the rest of the pass) is posted to the loop, never run inside this runner.
        waiting.Done.TrySetResult(result);
        return 0;
    }

    private TimeSpan? WarnWaiting(long id, long owner)
    {
        if (!_pendingDispatches.TryGetValue(id, out var waiting)) return null;
        var module = _owners.GetValueOrDefault(owner)?.LogName ?? "an unknown module";
        var origin = waiting.Event.Origin?.Log;
        var text = $"A handler of {module} for '{waiting.Name}' has waited {WaitWarning.TotalSeconds:0} s; the stanza's pass (and its session's input) waits with it";
        if (origin is not null) origin.Warn(text);
        else _log.Warn(text);
        return null;
    }

    /// <summary>Every pass still waiting completes as handled when the runtime goes away.</summary>
    private void AbandonPendingDispatches()
    {
        foreach (var waiting in _pendingDispatches.Values)
        {
            waiting.Watchdog?.Dispose();
            waiting.Done.TrySetResult(true);
        }
        _pendingDispatches.Clear();
    }

    // route/post/process(origin, stanza[, preevents]) → true; or PENDING, id while the pass
    // waits (bridge.await_handled suspends the caller's runner until the pass has finished).
    private void RegisterRoutingNatives(NativeTable n)
    {
        n.Add("route", l => RoutePass(l, (o, s) => _server.Router.RouteAsync(o, s)));
        n.Add("post", l => RoutePass(l, (o, s) => Untyped(_server.Router.PostAsync(o, s, l.ToBoolean(3)))));
        n.Add("process", l => RoutePass(l, (o, s) => _server.Router.ProcessAsync(o, s)));
        n.Add("bus_wrapped", BusWrapped);
    }

    private int RoutePass(Lua lua, Func<Session, XmlElement, ValueTask> pass)
    {
        var origin = RequireOrigin(lua, 1);
        if (!_stanzas.IsStanza(lua, 2)) throw new ArgumentException("stanza expected");
        var running = pass(origin, _stanzas.Read(lua, 2));
        if (running.IsCompletedSuccessfully)
        {
            lua.PushBoolean(true);
            return 1;
        }
        return PushWhenDone(lua, running.AsTask(), PushTrue);
    }

    private static ValueTask Untyped(ValueTask<bool> pass) =>
        pass.IsCompletedSuccessfully ? default : new ValueTask(pass.AsTask());

    private static int PushTrue(Lua lua)
    {
        lua.PushBoolean(true);
        return 1;
    }

    /// <summary>A handler's return as C# sees it: nil → null, anything else (false included) non-null.</summary>
    private static object? ResultOf(Lua lua, int index) => lua.Type(index) switch
    {
        LuaType.Nil or LuaType.None => null,
        LuaType.Boolean => lua.ToBoolean(index),
        LuaType.String => lua.ToString(index, false),
        LuaType.Number => lua.IsInteger(index) ? (object)lua.ToInteger(index) : lua.ToNumber(index),
        _ => true,
    };

    /// <summary>The EventData a C#-dispatched event table stands for, if its dispatch is still running.</summary>
    private EventData? DispatchedEvent(Lua lua, int table)
    {
        table = lua.AbsIndex(table);
        for (int i = _builtEvents.Count - 1; i >= 0; i--)
        {
            if (_builtEvents[i].LuaTable is not EventRef { IsReleased: false } r) continue;
            PushEventTable(lua, r);
            bool same = lua.RawEqual(-1, table);
            lua.Pop(1);
            if (same) return _builtEvents[i];
        }
        if (_dispatchEvents.Count == 0) return null;
        lua.PushRef(_eventIds);
        lua.PushCopy(table);
        lua.RawGet(-2);
        long id = lua.IsInteger(-1) ? lua.ToInteger(-1) : 0;
        lua.Pop(2);
        return id == 0 ? null : _dispatchEvents.GetValueOrDefault(id);
    }

    /// <summary>
    /// Runs a C# handler with the original EventData of a C#-fired event: Lua's changes are copied
    /// in first (only if a Lua handler ran since), and afterwards the handler's changes go back to
    /// the table: scalar fields, a replaced stanza, and element fields (stream features, replies)
    /// rebuilt from the C# element it may have added to.
    /// </summary>
    private object? FireNativeWithOriginal(Lua lua, EventHandlerEntry entry, EventData e, bool luaRan)
    {
        var r = (EventRef)e.LuaTable!;
        if (luaRan) SyncBack(lua, 3, e, r);
        var result = entry.Callback(e);
        PushScalarFields(lua, 3, e);
        foreach (var (key, value) in e.Fields)
        {
            if (value is not XmlElement element) continue;
            _stanzas.Push(lua, element);
            lua.RawSetField(3, key);
        }
        if (!ReferenceEquals(r.Stanza, e.Stanza))
        {
            PushValue(lua, e.Stanza);
            lua.RawSetField(3, "stanza");
            r.Stanza = e.Stanza;
        }
        return result;
    }

    private void PushScalarFields(Lua lua, int table, EventData e)
    {
        lua.PushCopy(table);
        PushScalarFields(lua, e);
        lua.Pop(1);
    }

    // handler_failed(owner, event name, error, event) → true: a Lua handler in a dispatched chain raised.
    private int HandlerFailedNative(Lua lua)
    {
        var owner = lua.IsInteger(1) ? _owners.GetValueOrDefault(lua.ToInteger(1)) : null;
        var name = lua.OptString(2) ?? "?";
        var error = lua.RawString(3) ?? "error object is not a string";
        LoggerFor(owner?.LogName ?? "luaxmpp").Error($"Error in handler for event '{name}': {error}");
        if (lua.Type(4) == LuaType.Table)
        {
            // As Prosody's stanza runner does: an iq that expected an answer gets one.
            lua.RawGetField(4, "stanza");
            var stanza = _stanzas.IsStanza(lua, -1) ? _stanzas.Read(lua, -1) : null;
            lua.Pop(1);
            lua.RawGetField(4, "origin");
            var origin = SessionOf(lua, -1);
            lua.Pop(1);
            if (stanza is { Name: "iq" } iq && iq.GetAttribute("type") is "get" or "set" && origin is not null)
                origin.Send(StanzaReply.Error(iq, StanzaError.InternalServerError()));
        }
        lua.PushBoolean(true);
        return 1;
    }

    // session_pause(sid, paused): the session's runner waits (true) or is ready again (false).
    private int SessionPause(Lua lua)
    {
        if (_sessionsById.GetValueOrDefault(lua.ToInteger(1)) is not ClientSession session) return 0;
        if (lua.ToBoolean(2))
        {
            // Its runner waits: C# must not resume its thread with a walk (ResumeWalk).
            if (_runnerThreads.TryGetValue(session, out var runner)) runner.Idle = false;
            if (_pausedInput.ContainsKey(session)) return 0;
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pausedInput[session] = gate;
            session.InputPaused = gate.Task;
        }
        else if (_pausedInput.Remove(session, out var gate))
        {
            session.InputPaused = null;
            // Resumed input must not run inside this Lua call: the continuation is posted to the loop.
            gate.SetResult();
        }
        return 0;
    }

    // session_filters(sid, kind): the session got a Lua chain for "stanzas/in", "stanzas/out" or "bytes/in".
    private int SessionFilters(Lua lua)
    {
        if (_sessionsById.GetValueOrDefault(lua.ToInteger(1)) is not ClientSession session) return 0;
        var marker = lua.OptString(2) switch
        {
            "stanzas/in" => FilterMarker.In,
            "bytes/in" => FilterMarker.BytesIn,
            _ => FilterMarker.Out,
        };
        if (!_filteredSessions.Add((session, marker))) return 0;
        switch (marker)
        {
            case FilterMarker.In: session.IncomingFilters.Add(element => RunLuaFilter(session, "stanzas/in", element)); break;
            case FilterMarker.BytesIn: session.IncomingFilters.Add(element => RunLuaFilter(session, "bytes/in", element)); break;
            default: session.OutgoingFilters.Add(element => RunLuaFilter(session, "stanzas/out", element)); break;
        }
        return 0;
    }

    private enum FilterMarker { In, Out, BytesIn }

    private readonly HashSet<(ClientSession, FilterMarker)> _filteredSessions = new();

    /// <summary>
    /// The Lua session.filter chain for one element; null when a filter dropped it. The stream is
    /// parsed in C#, so "bytes/in" gets the element's text and cannot rewrite it (what Prosody's
    /// modules use it for: mod_csi_simple flushes on any client activity).
    /// </summary>
    private XmlElement? RunLuaFilter(ClientSession session, string kind, XmlElement element)
    {
        // Lua's own send already ran "stanzas/out" before handing the stanza to C#.
        if (kind == "stanzas/out" && ReferenceEquals(_sendingFromLua, session)) return element;
        if (_disposed || session.LuaTable is not LuaRef table || table.IsReleased) return element;
        var lua = State;
        using var scope = LuaStack.Enter(lua);
        {
            lua.PushRef(_call);
            lua.PushRef(_entry);
            lua.RawGetField(-1, "filter");
            lua.Remove(-2);
            lua.PushRef(table);
            lua.PushString(kind);
            bool bytes = kind == "bytes/in";
            if (bytes) lua.PushString(XmlElementWriter.ToXmlString(element, Namespaces.Client));
            else _stanzas.Push(lua, element);
            if (scope.PCall(4, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
            {
                session.Log.Error($"Error in {kind} filter: {lua.ToString(-1, false)}");
                return element;
            }
            if (lua.IsNil(-1)) return null;
            return !bytes && _stanzas.IsStanza(lua, -1) ? _stanzas.Read(lua, -1) : element;
        }
    }

    private ClientSession? _sendingFromLua;

    // session_bind(sid, resource, callback): SessionManager.BindAsync; callback(nil) on success,
    // callback(type, condition, text) on failure — at once if binding completed synchronously.
    private int SessionBind(Lua lua)
    {
        if (RequireSession(lua.ToInteger(1)) is not ClientSession session) throw new ArgumentException("not a client session");
        var resource = lua.OptString(2);
        if (lua.Type(3) != LuaType.Function) throw new ArgumentException("callback expected");
        lua.PushCopy(3);
        var callback = new LuaRef(lua.PopRef());
        var task = _server.Sessions.BindAsync(session, resource);
        if (task.IsCompleted) CompleteBind(lua, callback, task);
        else task.ContinueWith(t => _server.Loop.Post(() => CompleteBind(_main, callback, t)), TaskScheduler.Default);
        return 0;
    }

    private void CompleteBind(Lua lua, LuaRef callback, Task<StanzaError?> task)
    {
        if (_disposed || callback.IsReleased) return;
        var error = task.IsCompletedSuccessfully ? task.Result : StanzaError.InternalServerError();
        var scope = LuaStack.Enter(lua);
        try
        {
            lua.PushRef(_call);
            lua.PushRef(callback);
            int args = 0;
            if (error is not null)
            {
                lua.PushString(error.Type);
                lua.PushString(error.Condition);
                if (error.Text is null) lua.PushNil();
                else lua.PushString(error.Text);
                args = 3;
            }
            if (scope.PCall(1 + args, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
                _log.Error("bind_resource callback failed: " + lua.ToString(-1, false));
        }
        finally
        {
            scope.Dispose();
            lua.Release(callback);
        }
    }

    /// <summary>
    /// The C API calls of a dispatch that cannot call back into .NET nor allocate in Lua (plain
    /// pushes of values already made, raw reads of the registry, type tests): declared without
    /// the GC transition a P/Invoke otherwise makes, some 10-20 ns each, a dozen per dispatch.
    /// Anything that may run a metamethod, a collection step or an error (pcall, settop,
    /// luaL_ref, pushing strings) goes through KeraLua as usual.
    /// </summary>
    private static class HotApi
    {
        private const string Library = "lua54";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern int lua_rawgeti(IntPtr state, int index, long n);

        // Only ever with nil on top, into a slot that exists (no allocation, no barrier).
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern void lua_rawseti(IntPtr state, int index, long n);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern void lua_pushinteger(IntPtr state, long n);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern void lua_pushboolean(IntPtr state, int b);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern void lua_pushnil(IntPtr state);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern int lua_toboolean(IntPtr state, int index);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern int lua_type(IntPtr state, int index);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
        public static extern IntPtr lua_tothread(IntPtr state, int index);
    }
}
