using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// Timers over ServerLoop.AddTimer (util.timer's contract: a numeric return reschedules). The
// callback runs in a pooled util.async runner (bridge.run_timer), so it may wait for storage
// like Prosody's timers; one that waits reschedules through timer_done when it finishes.
public sealed partial class LuaRuntime
{
    private int _runTimer = LuaRef.NoRef;
    private readonly Dictionary<long, LuaTimer> _timers = new();
    private long _nextTimerId;

    private sealed class LuaTimer(LuaRef function)
    {
        public LuaRef Function { get; } = function;

        public IDisposable? Handle { get; set; }
    }

    private static TimeSpan Delay(double seconds) =>
        TimeSpan.FromSeconds(double.IsFinite(seconds) && seconds > 0 ? Math.Min(seconds, 1e9) : 0);

    // add_timer(delay, fn) → id; fn(now) runs on the loop.
    private int AddTimer(Lua lua)
    {
        double delay = lua.ToNumber(1);
        if (lua.Type(2) != LuaType.Function) throw new ArgumentException("timer callback must be a function");
        lua.PushCopy(2);
        var timer = new LuaTimer(new LuaRef(lua.PopRef()));
        long id = ++_nextTimerId;
        _timers[id] = timer;
        Start(id, timer, delay);
        lua.PushInteger(id);
        return 1;
    }

    private void Start(long id, LuaTimer timer, double delay) =>
        timer.Handle = _server.Loop.AddTimer(Delay(delay), () => FireTimer(id));

    private int StopTimer(Lua lua)
    {
        if (_timers.Remove(lua.ToInteger(1), out var timer))
        {
            timer.Handle?.Dispose();
            lua.Release(timer.Function);
        }
        return 0;
    }

    private int RescheduleTimer(Lua lua)
    {
        long id = lua.ToInteger(1);
        if (!_timers.TryGetValue(id, out var timer)) return 0;
        timer.Handle?.Dispose();
        Start(id, timer, lua.ToNumber(2));
        lua.PushInteger(id);
        return 1;
    }

    private TimeSpan? FireTimer(long id)
    {
        if (_disposed || !_timers.TryGetValue(id, out var timer)) return null;
        using var scope = LuaStack.Enter(_main);
        var lua = scope.Lua;
        TimeSpan? next = null;
        lua.PushRef(_call);
        lua.PushRef(_runTimer);
        lua.PushRef(timer.Function);
        lua.PushNumber(_server.Loop.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        lua.PushInteger(id);
        if (scope.PCall(4, 4) != LuaStatus.OK) _log.Error("Timer failed: " + lua.ToString(-1, false));
        else if (!lua.ToBoolean(-4)) _log.Error("Timer failed: " + (lua.RawString(-3) ?? "?"));
        else if (!lua.ToBoolean(-3))
        {
            // It waits in its runner: timer_done decides about rescheduling when it finishes.
            timer.Handle = null;
            return null;
        }
        else next = TimerOutcome(lua, -2);
        if (next is null && _timers.Remove(id)) lua.Release(timer.Function);
        return next;
    }

    /// <summary>(ok, result) of a timer callback: a numeric result is the delay until it runs again.</summary>
    private TimeSpan? TimerOutcome(Lua lua, int index)
    {
        if (!lua.ToBoolean(index))
        {
            _log.Error("Error in timer callback: " + (lua.RawString(index + 1) ?? "?"));
            return null;
        }
        return lua.Type(index + 1) == LuaType.Number ? Delay(lua.ToNumber(index + 1)) : null;
    }

    // timer_done(id, ok, result): a timer callback that waited has finished.
    private int TimerDone(Lua lua)
    {
        long id = lua.ToInteger(1);
        if (_disposed || !_timers.TryGetValue(id, out var timer)) return 0;
        var next = TimerOutcome(lua, 2);
        if (timer.Handle is not null) return 0; // rescheduled or restarted meanwhile
        if (next is { } delay) timer.Handle = _server.Loop.AddTimer(delay, () => FireTimer(id));
        else if (_timers.Remove(id)) _main.Release(timer.Function);
        return 0;
    }
}
