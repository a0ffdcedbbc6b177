using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KeraLua;
using LuaXmpp.Logging;

namespace LuaXmpp.LuaBridge.Interop;

/// <summary>
/// The one way C# calls into Lua and the one place that checks the stack stays balanced across
/// the boundary, in both directions: <see cref="Enter"/> opens a <see cref="LuaScope"/> around a
/// C# → Lua call, and <see cref="CheckNative"/> checks what a native (Lua → C#) leaves behind.
/// </summary>
/// <remarks>
/// <para>Why: a value pushed and never popped, or popped once too often, is silent in Lua. Each
/// C# entry leaks a slot per stanza until the stack overflows, or eats a value that belongs to the
/// frame below (Garnet's LuaStateWrapper owns its stack for the same reason). Every entry point
/// records its top and checks it on exit, so such a bug is found where it is made.</para>
/// <para>On an imbalance a Debug build fails loudly (an exception from the scope, an assertion in
/// a native), so the test that made it fails; a Release build writes one error line naming the
/// call site and restores the top: it never raises into Lua and never stops the loop.</para>
/// <para>Cost: two lua_gettop calls more than the hand-written pattern it replaces, and no
/// allocation: the scope is a ref struct and the site is the compiler's constant strings.</para>
/// </remarks>
internal static class LuaStack
{
    /// <summary>Whether an imbalance throws (Debug builds) rather than being logged and repaired.</summary>
#if DEBUG
    public static readonly bool FailOnImbalance = true;
#else
    public static readonly bool FailOnImbalance = false;
#endif

    /// <summary>Free slots a C# entry point makes sure of (LUA_MINSTACK is only 20).</summary>
    public const int DefaultSlots = 48;

    private static readonly Logger Log = Logger.For("luaxmpp.lua");
    private static long _imbalances;

    /// <summary>Imbalances found since the start (both directions).</summary>
    public static long Imbalances => Interlocked.Read(ref _imbalances);

    /// <summary>
    /// Opens a scope on <paramref name="lua"/>: records the top and makes room for
    /// <paramref name="slots"/> values. Use with <c>using</c>; the scope restores the top on exit.
    /// </summary>
    public static LuaScope Enter(Lua lua, int slots = DefaultSlots,
        [CallerMemberName] string site = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        int top = Top(lua);
        lua.EnsureStack(slots);
        return new LuaScope(lua, top, slots, site, file, line);
    }

    /// <summary>
    /// Checks a native's exit: it said it returns <paramref name="results"/> values, and the
    /// stack, <paramref name="before"/> values high on entry (its arguments), must now hold its
    /// arguments and those results. Returns the count to hand to Lua: fewer values than promised
    /// would make Lua take the arguments, or slots below the frame, as results, so that case is
    /// replaced by the failure pair <c>nil, message</c>.
    /// </summary>
    public static int CheckNative(Lua lua, string name, int before, int results)
    {
        int after = lua.GetTop();
        if (after == before + results) return results;
        if (results >= 0 && results <= after)
        {
            // Extra values under the results (or arguments consumed): Lua takes the top values
            // and is not harmed; still a bug in the body, which Debug builds stop at.
            Debug.Assert(!FailOnImbalance, $"Native {name} left {after} values for {before} arguments and {results} results");
            return results;
        }
        Interlocked.Increment(ref _imbalances);
        Log.Error($"Lua stack unbalanced in native {name}: {results} results promised, {after} values on the stack; returned nil, error instead");
        Debug.Assert(!FailOnImbalance, $"Native {name} promised {results} results with {after} values on the stack");
        lua.SetTop(before);
        lua.PushNil();
        lua.PushString(name + ": stack imbalance in the native");
        return 2;
    }

    /// <summary>
    /// lua_gettop without the GC transition a P/Invoke otherwise makes (it only reads the state;
    /// every C# entry into Lua calls it three or four times).
    /// </summary>
    public static int Top(Lua lua) => lua_gettop(lua.Handle);

    [DllImport("lua54", CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    internal static extern int lua_gettop(IntPtr state);

    /// <summary>lua_status: LUA_YIELD (1) for a coroutine suspended in a yield, 0 while it runs or is normal.</summary>
    [DllImport("lua54", CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    internal static extern int lua_status(IntPtr state);

    [DllImport("lua54", CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    internal static extern void lua_xmove(IntPtr from, IntPtr to, int n);

    // Not SuppressGCTransition: the coroutine runs Lua, which calls natives back.
    [DllImport("lua54", CallingConvention = CallingConvention.Cdecl)]
    internal static extern int lua_resume(IntPtr state, IntPtr from, int nargs, out int nresults);

    /// <summary>LUA_YIELD.</summary>
    public const int Yielded = 1;

    /// <summary>A scope found the stack at <paramref name="actual"/> where <paramref name="expected"/> was due.</summary>
    internal static void Unbalanced(Lua lua, string what, int expected, int actual, string site, string file, int line)
    {
        Interlocked.Increment(ref _imbalances);
        lua.SetTop(expected);
        var where = $"{site} ({Path.GetFileName(file)}:{line})";
        if (FailOnImbalance)
            throw new InvalidOperationException($"Lua stack unbalanced in {where}: {what}, top {actual}, expected {expected}");
        Log.Error($"Lua stack unbalanced in {where}: {what}, top {actual}, expected {expected}; top restored");
    }
}

/// <summary>
/// One C# → Lua entry on a state: the stack above <see cref="Top"/> belongs to it and is
/// discarded on <see cref="Dispose"/>, unless <see cref="Keep"/> declares values it leaves for its
/// caller. Opened by <see cref="LuaStack.Enter"/>; see there for what an imbalance does.
/// </summary>
internal ref struct LuaScope
{
    private readonly string _site;
    private readonly string _file;
    private readonly int _line;
    private readonly int _slots;
    private int _keep;

    internal LuaScope(Lua lua, int top, int slots, string site, string file, int line)
    {
        Lua = lua;
        Top = top;
        _slots = slots;
        _site = site;
        _file = file;
        _line = line;
    }

    /// <summary>The state this scope entered (the main state or a coroutine).</summary>
    public Lua Lua { get; }

    /// <summary>The top on entry; values at and below it belong to the caller.</summary>
    public int Top { get; }

    /// <summary>
    /// lua_pcall of the function under the top <paramref name="nargs"/> values, without a message
    /// handler of its own: the runtime's calls go through core/bridge.lua's <c>call</c> (xpcall
    /// with debug.traceback), which returns <c>ok, ...</c> with the traceback in the message.
    /// The function and its arguments must have been pushed inside this scope: a call that would
    /// consume values below <see cref="Top"/> is refused as an imbalance (status ErrRun, message on top).
    /// <paramref name="messageHandler"/> is lua_pcall's msgh: 0, or the index of a handler the caller pushed.
    /// </summary>
    public readonly LuaStatus PCall(int nargs, int nresults, int messageHandler = 0)
    {
        int top = LuaStack.Top(Lua);
        if (top - nargs - 1 < Top)
        {
            LuaStack.Unbalanced(Lua, $"call with {nargs} arguments", Top, top, _site, _file, _line);
            Lua.PushString("unbalanced call refused at " + _site);
            return LuaStatus.ErrRun;
        }
        return Lua.PCall(nargs, nresults, messageHandler);
    }

    /// <summary>
    /// lua_resume of the coroutine <paramref name="thread"/> with the top <paramref name="nargs"/>
    /// values of this scope as its arguments (moved to the coroutine). The caller must know the
    /// coroutine is suspended in a yield that expects them (never one running, normal, or waiting
    /// for something else): a coroutine that is not suspended, or whose stack still holds values
    /// (yielded ones not taken), is refused as an imbalance (status ErrRun, message on top) without
    /// being resumed. What it yields or returns (status Yield or OK), or its error message, is
    /// moved onto this scope's state; the coroutine's stack is left empty (a dead one keeps its own).
    /// </summary>
    public readonly LuaStatus Resume(IntPtr thread, int nargs, out int nresults)
    {
        nresults = 0;
        int top = LuaStack.Top(Lua);
        int threadTop = LuaStack.lua_gettop(thread);
        if (top - nargs < Top || threadTop != 0 || LuaStack.lua_status(thread) != LuaStack.Yielded)
        {
            LuaStack.Unbalanced(Lua, $"resume with {nargs} arguments of a coroutine holding {threadTop} values", Top, top, _site, _file, _line);
            Lua.PushString("unbalanced resume refused at " + _site);
            return LuaStatus.ErrRun;
        }
        LuaStack.lua_xmove(Lua.Handle, thread, nargs);
        var status = (LuaStatus)LuaStack.lua_resume(thread, Lua.Handle, nargs, out nresults);
        if (status is not (LuaStatus.OK or LuaStatus.Yield)) nresults = 1;
        // Enter made room for _slots values above Top; the arguments moved out made room again.
        if (top - nargs - Top + nresults > _slots) Lua.EnsureStack(nresults);
        LuaStack.lua_xmove(thread, Lua.Handle, nresults);
        return status;
    }

    /// <summary>Leaves the top <paramref name="values"/> values for the caller: on exit the top must be <see cref="Top"/> + values.</summary>
    public void Keep(int values) => _keep = values;

    /// <summary>Drops everything this scope pushed.</summary>
    public readonly void Reset() => Lua.SetTop(Top);

    /// <summary>Restores the top, checking that nothing below the scope's entry was consumed.</summary>
    public readonly void Dispose()
    {
        int expected = Top + _keep;
        int actual = LuaStack.Top(Lua);
        if (actual == expected) return;
        if (actual > expected && _keep == 0)
        {
            Lua.SetTop(Top);
            return;
        }
        LuaStack.Unbalanced(Lua, _keep == 0 ? "values below the entry consumed" : $"{_keep} values to keep", expected, actual, _site, _file, _line);
    }
}
