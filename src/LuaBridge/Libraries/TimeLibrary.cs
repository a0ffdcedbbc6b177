using System.Collections.Concurrent;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.time: <c>now()</c>, wall-clock seconds since the Unix epoch as a float, and
/// <c>monotonic()</c>, seconds from an arbitrary origin that never goes backwards. Both read the
/// <see cref="TimeProvider"/> given to <see cref="LuaLibraries.Install(Lua, TimeProvider?)"/> for that state.
/// </summary>
internal sealed class TimeLibrary(TimeProvider time) : INativeLibrary
{
    // Keyed by the main thread's lua_State so coroutines of the same state find the same clock.
    private static readonly ConcurrentDictionary<IntPtr, TimeProvider> Clocks = new();

    private static readonly LuaFunction NowFn = Now;
    private static readonly LuaFunction MonotonicFn = Monotonic;

    public string Name => "util.time";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("now", NowFn), new("monotonic", MonotonicFn)];

    public string Shim => """
        local raw = ...
        return { now = raw.now, monotonic = raw.monotonic }
        """;

    /// <summary>Associates this library's clock with <paramref name="lua"/>'s main thread.</summary>
    public void Attach(Lua lua) => Clocks[MainThread(lua)] = time;

    private static int Now(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var sinceEpoch = ClockOf(lua).GetUtcNow() - DateTimeOffset.UnixEpoch;
        lua.PushNumber(sinceEpoch.Ticks / (double)TimeSpan.TicksPerSecond);
        return 1;
    });

    private static int Monotonic(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var clock = ClockOf(lua);
        lua.PushNumber(clock.GetTimestamp() / (double)clock.TimestampFrequency);
        return 1;
    });

    private static TimeProvider ClockOf(Lua lua) =>
        Clocks.TryGetValue(MainThread(lua), out var clock) ? clock : TimeProvider.System;

    private static IntPtr MainThread(Lua lua)
    {
        lua.RawGetInteger(LuaRegistry.Index, (long)LuaRegistryIndex.MainThread);
        var handle = lua.ToPointer(-1);
        lua.Pop(1);
        return handle;
    }
}
