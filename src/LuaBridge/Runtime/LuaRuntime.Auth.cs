using KeraLua;
using LuaXmpp.Accounts;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// Lua auth providers (`authentication = "insecure"`, ...) for the C# SASL and account code.
public sealed partial class LuaRuntime
{
    /// <summary>
    /// An auth provider backed by the Lua module mod_auth_<paramref name="name"/>, or null when no
    /// such module file exists on plugin_paths. The module must be loaded on the host by the time
    /// the provider is used (ModuleManager loads mod_auth_&lt;authentication&gt; with the host).
    /// </summary>
    public IAuthProvider? AuthProvider(string host, string name) =>
        CanLoad("auth_" + name) ? new LuaAuthProvider(this, _server.Loop, host, name) : null;

    /// <summary>
    /// Calls <c>core.authproviders.call(op, host, args...)</c> on the loop thread and returns its
    /// results converted: booleans, strings (raw bytes as byte[] when <paramref name="binary"/>),
    /// numbers, and tables as string lists. A Lua error becomes an <see cref="InvalidOperationException"/>.
    /// </summary>
    internal object?[] CallAuthProvider(string op, string host, bool binary, params string?[] args)
    {
        AssertLoop();
        var lua = State;
        int top = lua.GetTop();
        lua.EnsureStack(32);
        try
        {
            lua.GetGlobal("require");
            lua.PushString("core.authproviders");
            if (lua.PCall(1, 1, 0) != LuaStatus.OK) throw new InvalidOperationException(lua.ToString(-1, false));
            lua.RawGetField(-1, "call");
            lua.PushString(op);
            lua.PushString(host);
            foreach (var arg in args)
            {
                if (arg is null) lua.PushNil();
                else lua.PushBuffer(System.Text.Encoding.UTF8.GetBytes(arg));
            }
            int baseTop = lua.GetTop() - 3 - args.Length;
            if (lua.PCall(2 + args.Length, LuaMultRet, 0) != LuaStatus.OK)
                throw new InvalidOperationException(lua.ToString(-1, false));
            var results = new object?[lua.GetTop() - baseTop];
            for (int i = 0; i < results.Length; i++) results[i] = ReadAuthValue(lua, baseTop + 1 + i, binary);
            return results;
        }
        finally
        {
            lua.SetTop(top);
        }
    }

    private const int LuaMultRet = -1;

    private static object? ReadAuthValue(Lua lua, int index, bool binary) => lua.Type(index) switch
    {
        LuaType.Boolean => lua.ToBoolean(index),
        LuaType.Number => lua.ToNumber(index),
        LuaType.String => binary ? lua.ToBuffer(index, false) : lua.RawString(index),
        LuaType.Table => ReadStringList(lua, index),
        _ => null,
    };

    private static List<string> ReadStringList(Lua lua, int index)
    {
        var list = new List<string>();
        for (long i = 1; ; i++)
        {
            lua.RawGetInteger(index, i);
            var value = lua.RawString(-1);
            lua.Pop(1);
            if (value is null) break;
            list.Add(value);
        }
        return list;
    }
}
