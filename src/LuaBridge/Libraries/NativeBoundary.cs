using System.Runtime.CompilerServices;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// The rules every native library function follows when Lua calls into C#: no exception crosses
/// into Lua and nothing here raises a Lua error (lua_error longjmps over managed frames, which
/// crashes on Linux; see the Garnet and NLua notes in style-guide §3.3). A failure becomes the
/// two values <c>nil, message</c>; the library's Lua shim decides whether to raise.
/// </summary>
internal static class NativeBoundary
{
    /// <summary>
    /// Runs <paramref name="body"/> for the state <paramref name="state"/>, turning exceptions into
    /// nil, message and checking the stack on exit (<see cref="LuaStack.CheckNative"/>).
    /// <paramref name="name"/> names the native in the imbalance log line.
    /// </summary>
    public static int Invoke(IntPtr state, Func<Lua, int> body, [CallerMemberName] string name = "")
    {
        var lua = Lua.FromIntPtr(state);
        int before = lua.GetTop();
        try
        {
            return LuaStack.CheckNative(lua, name, before, body(lua));
        }
        catch (Exception ex)
        {
            lua.SetTop(before);
            lua.PushNil();
            PushUtf8(lua, ex.GetType().Name + ": " + ex.Message);
            return 2;
        }
    }

    /// <summary>Pushes a new table holding the given functions under their names.</summary>
    public static void PushFunctionTable(Lua lua, IReadOnlyList<NativeFunction> functions)
    {
        lua.CreateTable(0, functions.Count);
        foreach (var f in functions)
        {
            lua.PushCFunction(f.Function);
            lua.SetField(-2, f.Name);
        }
    }

    /// <summary>The bytes of a string argument, or null when the argument is not a string or number.</summary>
    public static byte[]? OptBytes(Lua lua, int index) =>
        lua.Type(index) is LuaType.String or LuaType.Number ? lua.ToBuffer(index, false) : null;

    /// <summary>
    /// Pushes a string as UTF-8. KeraLua's PushString uses the state's Encoding property, which
    /// the bridge does not control, and Lua strings in Prosody are UTF-8 bytes.
    /// </summary>
    public static void PushUtf8(Lua lua, string value) => lua.PushBuffer(System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>Sets field <paramref name="key"/> of the table on top of the stack to a UTF-8 string.</summary>
    public static void SetString(Lua lua, string key, string value)
    {
        PushUtf8(lua, value);
        lua.SetField(-2, key);
    }

    /// <summary>Sets field <paramref name="key"/> of the table on top of the stack to an integer.</summary>
    public static void SetInteger(Lua lua, string key, long value)
    {
        lua.PushInteger(value);
        lua.SetField(-2, key);
    }

    /// <summary>Pushes nil and a message, the failure convention of the shims.</summary>
    public static int Fail(Lua lua, string message)
    {
        lua.PushNil();
        PushUtf8(lua, message);
        return 2;
    }
}
