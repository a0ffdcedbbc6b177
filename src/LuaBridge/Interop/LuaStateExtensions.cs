using KeraLua;

namespace LuaXmpp.LuaBridge.Interop;

/// <summary>
/// Raw (metamethod-free) stack operations. Metamethods may raise, and a raise inside a C#
/// frame would longjmp through it, so C# reads and writes tables only with raw access.
/// </summary>
internal static class LuaStateExtensions
{
    /// <summary>
    /// Makes room for <paramref name="slots"/> more values. The C API does not check pushes: a C
    /// function is only guaranteed LUA_MINSTACK (20) free slots, and pushing past the stack's
    /// size writes over the Lua heap. Every C# entry point and every recursive push calls this.
    /// </summary>
    public static void EnsureStack(this Lua lua, int slots)
    {
        if (!lua.CheckStack(slots)) throw new InvalidOperationException("Lua stack overflow");
    }

    public static void PushRef(this Lua lua, int reference) => lua.RawGetInteger(LuaRegistry.Index, reference);

    public static void PushRef(this Lua lua, LuaRef reference) => lua.RawGetInteger(LuaRegistry.Index, reference.Reference);

    /// <summary>Pops the top value into the registry.</summary>
    public static int PopRef(this Lua lua) => lua.Ref(LuaRegistry.Index);

    public static void Release(this Lua lua, LuaRef reference)
    {
        int r = reference.Take();
        if (r != LuaRef.NoRef) lua.Unref(LuaRegistry.Index, r);
    }

    /// <summary>Pushes t[key] for the table at <paramref name="table"/> (raw).</summary>
    public static LuaType RawGetField(this Lua lua, int table, string key)
    {
        table = lua.AbsIndex(table);
        lua.PushString(key);
        return lua.RawGet(table);
    }

    /// <summary>Pops a value into t[key] for the table at <paramref name="table"/> (raw).</summary>
    public static void RawSetField(this Lua lua, int table, string key)
    {
        table = lua.AbsIndex(table);
        lua.PushString(key);
        lua.Insert(-2);
        lua.RawSet(table);
    }

    /// <summary>A string at the index without coercing numbers in place or calling __tostring.</summary>
    public static string? RawString(this Lua lua, int index) => lua.Type(index) switch
    {
        LuaType.String => lua.ToString(index, false),
        LuaType.Number => lua.IsInteger(index)
            ? lua.ToInteger(index).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : lua.ToNumber(index).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    public static string? OptString(this Lua lua, int index) =>
        lua.Type(index) == LuaType.String ? lua.ToString(index, false) : null;
}
