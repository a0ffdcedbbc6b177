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

    private readonly Dictionary<long, (TaskCompletionSource<object?[]> Done, bool Binary)> _pendingAuthCalls = new();
    private long _nextAuthCall;

    /// <summary>
    /// Calls <c>core.authproviders.call(op, host, args...)</c> on the loop thread, inside a
    /// util.async runner of its own (call_async), and gives its results converted: booleans,
    /// strings (raw bytes as byte[] when <paramref name="binary"/>), numbers, and tables as string
    /// lists. Completed at once unless the provider waited (DBI); a Lua error faults the task with
    /// an <see cref="InvalidOperationException"/>.
    /// </summary>
    internal Task<object?[]> CallAuthProvider(string op, string host, bool binary, params string?[] args)
    {
        AssertLoop();
        using var scope = LuaStack.Enter(State, 32);
        var lua = scope.Lua;
        long id = ++_nextAuthCall;
        try
        {
            lua.GetGlobal("require");
            lua.PushString("core.authproviders");
            if (scope.PCall(1, 1) != LuaStatus.OK) throw new InvalidOperationException(lua.ToString(-1, false));
            lua.RawGetField(-1, "call_async");
            lua.PushInteger(id);
            lua.PushString(op);
            lua.PushString(host);
            foreach (var arg in args)
            {
                if (arg is null) lua.PushNil();
                else lua.PushBuffer(System.Text.Encoding.UTF8.GetBytes(arg));
            }
            int baseTop = lua.GetTop() - 4 - args.Length;
            if (scope.PCall(3 + args.Length, LuaMultRet) != LuaStatus.OK)
                throw new InvalidOperationException(lua.ToString(-1, false));
            if (lua.Type(baseTop + 1) == LuaType.String)
            {
                var pending = new TaskCompletionSource<object?[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pendingAuthCalls[id] = (pending, binary);
                return pending.Task;
            }
            return Task.FromResult(AuthResults(lua, baseTop + 1, lua.GetTop(), binary));
        }
        catch (Exception ex)
        {
            return Task.FromException<object?[]>(ex);
        }
    }

    // auth_done(id, ok, results...): a provider call that waited has finished (call_async).
    private int AuthDone(Lua lua)
    {
        if (!_pendingAuthCalls.Remove(lua.ToInteger(1), out var call)) return 0;
        try
        {
            call.Done.TrySetResult(AuthResults(lua, 2, lua.GetTop(), call.Binary));
        }
        catch (Exception ex)
        {
            call.Done.TrySetException(ex);
        }
        return 0;
    }

    // Stack slots first..last hold (ok, results...) from xpcall.
    private static object?[] AuthResults(Lua lua, int first, int last, bool binary)
    {
        if (!lua.ToBoolean(first)) throw new InvalidOperationException(lua.ToString(first + 1, false));
        var results = new object?[last - first];
        for (int i = 0; i < results.Length; i++) results[i] = ReadAuthValue(lua, first + 1 + i, binary);
        return results;
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
