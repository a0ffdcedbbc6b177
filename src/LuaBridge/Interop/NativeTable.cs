using KeraLua;

namespace LuaXmpp.LuaBridge.Interop;

/// <summary>The body of a native primitive: reads its arguments, pushes its results, returns how many.</summary>
internal delegate int NativeBody(Lua lua);

/// <summary>
/// The primitives C# offers Lua, as one table. Every entry point is wrapped so that nothing
/// crosses the boundary badly: a .NET exception becomes the two results <c>nil, message</c>
/// (the Lua shim raises), and no body ever calls lua_error, whose longjmp would unwind .NET
/// frames (fatal on Linux). The delegates are kept here so the GC never frees a function
/// pointer Lua still holds.
/// </summary>
internal sealed class NativeTable
{
    private readonly List<(string Name, LuaFunction Function)> _functions = new();
    private readonly Action<Lua?> _enter;
    private readonly Func<Lua?> _current;

    /// <param name="current">The state of the native call in progress, restored on exit.</param>
    /// <param name="enter">Sets that state (a coroutine's, when Lua calls from one).</param>
    public NativeTable(Func<Lua?> current, Action<Lua?> enter)
    {
        _current = current;
        _enter = enter;
    }

    public void Add(string name, NativeBody body)
    {
        LuaFunction function = state => Invoke(state, name, body);
        _functions.Add((name, function));
    }

    /// <summary>Pushes a table holding every primitive.</summary>
    public void Push(Lua lua)
    {
        lua.CreateTable(0, _functions.Count);
        foreach (var (name, function) in _functions)
        {
            lua.PushString(name);
            lua.PushCFunction(function);
            lua.RawSet(-3);
        }
    }

    private int Invoke(IntPtr state, string name, NativeBody body)
    {
        var lua = Lua.FromIntPtr(state);
        var previous = _current();
        _enter(lua);
        int before = lua.GetTop();
        try
        {
            lua.EnsureStack(48);
            return LuaStack.CheckNative(lua, name, before, body(lua));
        }
        catch (Exception ex)
        {
            lua.SetTop(before);
            lua.PushNil();
            lua.PushString($"{name}: {ex.Message}");
            return 2;
        }
        finally
        {
            _enter(previous);
        }
    }
}
