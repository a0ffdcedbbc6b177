using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// The C# functions the config driver calls. None of them throws into Lua: failures come back as
/// <c>nil, message</c> and the Lua side decides whether to call <c>error()</c>.
/// </summary>
/// <remarks>The delegates live as long as this object; keep it alive as long as the Lua state.</remarks>
internal sealed class ConfigNatives
{
    private readonly LuaFunction _readFile;
    private readonly LuaFunction _listDir;
    private readonly LuaFunction _nameprep;
    private readonly LuaFunction _getenv;

    public ConfigNatives()
    {
        _readFile = state => Guard(state, ReadFile, "read_file");
        _listDir = state => Guard(state, ListDirectory, "list_dir");
        _nameprep = state => Guard(state, Nameprep, "nameprep");
        _getenv = state => Guard(state, GetEnvironment, "getenv");
    }

    /// <summary>Pushes the natives table the driver receives as its first argument.</summary>
    public void Push(Lua lua)
    {
        lua.NewTable();
        SetFunction(lua, "read_file", _readFile);
        SetFunction(lua, "list_dir", _listDir);
        SetFunction(lua, "nameprep", _nameprep);
        SetFunction(lua, "getenv", _getenv);
        lua.NewTable();
        for (int i = 0; i < ConfigScript.SafeGlobals.Length; i++)
        {
            lua.PushString(ConfigScript.SafeGlobals[i]);
            lua.RawSetInteger(-2, i + 1);
        }
        lua.SetField(-2, "safe_globals");
    }

    private static void SetFunction(Lua lua, string name, LuaFunction function)
    {
        lua.PushCFunction(function);
        lua.SetField(-2, name);
    }

    // The interop boundary: whatever goes wrong becomes a nil, message result, never an exception
    // unwinding through lua_call.
    private static int Guard(IntPtr state, Func<Lua, int> body, string name)
    {
        var lua = Lua.FromIntPtr(state);
        int before = lua.GetTop();
        try
        {
            return LuaStack.CheckNative(lua, name, before, body(lua));
        }
        catch (Exception e)
        {
            lua.SetTop(0);
            return Fail(lua, Describe(e));
        }
    }

    private static int Fail(Lua lua, string message)
    {
        lua.PushNil();
        lua.PushString(message);
        return 2;
    }

    private static int ReadFile(Lua lua)
    {
        if (lua.Type(1) != LuaType.String) return Fail(lua, "file name expected");
        var path = lua.ToString(1);
        lua.PushBuffer(File.ReadAllBytes(path));
        return 1;
    }

    private static int ListDirectory(Lua lua)
    {
        if (lua.Type(1) != LuaType.String) return Fail(lua, "directory name expected");
        var path = lua.ToString(1);
        // Sorted so that a glob Include applies files in a stable order (lfs.dir has none).
        var names = Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).ToArray();
        lua.CreateTable(names.Length, 0);
        for (int i = 0; i < names.Length; i++)
        {
            lua.PushString(names[i]);
            lua.RawSetInteger(-2, i + 1);
        }
        return 1;
    }

    private static int Nameprep(Lua lua)
    {
        if (lua.Type(1) != LuaType.String) return Fail(lua, "host name expected");
        var prepped = JidPrep.Nameprep(lua.ToString(1));
        if (prepped is null) return Fail(lua, "invalid host name");
        lua.PushString(prepped);
        return 1;
    }

    private static int GetEnvironment(Lua lua)
    {
        if (lua.Type(1) != LuaType.String) return Fail(lua, "variable name expected");
        var value = Environment.GetEnvironmentVariable(lua.ToString(1));
        if (value is null) lua.PushNil();
        else lua.PushString(value);
        return 1;
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };
}
