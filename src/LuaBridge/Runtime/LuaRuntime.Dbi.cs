using System.Globalization;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// The natives under Lua/DBI.lua (LuaDBI's API for mod_auth_sql and friends). Each database call is
// a task (DbiConnection) returned through PushWhenDone, so bridge.await suspends the util.async
// runner that called it; outside every runner nothing waits (a query raises naming the call, a
// commit goes on by itself). Connections are numbered; Lua closes them (close or __gc).
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, DbiConnection> _dbiConnections = new();
    private long _nextDbiConnection;

    private void RegisterDbiNatives(NativeTable n)
    {
        n.Add("dbi_connect", DbiConnect);
        n.Add("dbi_execute", DbiExecute);
        n.Add("dbi_ping", DbiPingNative);
        n.Add("dbi_end", l => PushWhenDone(l, DbiOf(l).EndTransactionAsync(l.ToBoolean(2)), PushTrue));
        n.Add("dbi_autocommit", l => PushWhenDone(l, DbiOf(l).SetAutoCommitAsync(l.ToBoolean(2)), PushTrue));
        n.Add("dbi_close", DbiClose);
        n.Add("auth_done", AuthDone);
    }

    // dbi_connect(driver, name, user, password, host, port) → connection number, or nil, message.
    private int DbiConnect(Lua lua)
    {
        int? port = lua.Type(6) switch
        {
            LuaType.Number => (int)lua.ToInteger(6),
            LuaType.String when int.TryParse(lua.ToString(6), NumberStyles.None, CultureInfo.InvariantCulture, out var p) => p,
            _ => null,
        };
        var task = DbiConnection.OpenAsync(lua.OptString(1) ?? "", lua.OptString(2) ?? "",
            lua.OptString(3), lua.OptString(4), lua.OptString(5), port);
        return PushWhenDone(lua, task, l =>
        {
            long id = ++_nextDbiConnection;
            _dbiConnections[id] = task.Result;
            l.PushInteger(id);
            return 1;
        });
    }

    // dbi_execute(connection, sql, parameters) → columns, rows (arrays of values), rows affected.
    private int DbiExecute(Lua lua)
    {
        var connection = DbiOf(lua);
        var sql = lua.OptString(2) ?? throw new ArgumentException("SQL text expected");
        var parameters = new List<object?>();
        if (lua.Type(3) == LuaType.Table)
        {
            lua.GetField(3, "n");
            long count = lua.ToInteger(-1);
            lua.Pop(1);
            for (long i = 1; i <= count; i++)
            {
                lua.RawGetInteger(3, i);
                parameters.Add(DbiParameter(lua, -1));
                lua.Pop(1);
            }
        }
        var task = connection.ExecuteAsync(sql, parameters.ToArray());
        return PushWhenDone(lua, task, l =>
        {
            var result = task.Result;
            PushList(l, result.Columns, l.PushString);
            l.CreateTable(result.Rows.Count, 0);
            for (int r = 0; r < result.Rows.Count; r++)
            {
                var row = result.Rows[r];
                l.CreateTable(row.Length, 0);
                for (int c = 0; c < row.Length; c++)
                {
                    if (row[c] is null) continue;
                    PushDbiValue(l, row[c]!);
                    l.RawSetInteger(-2, c + 1);
                }
                l.RawSetInteger(-2, r + 1);
            }
            l.PushInteger(result.Affected);
            return 3;
        });
    }

    // dbi_ping(connection) → whether the server still answers.
    private int DbiPingNative(Lua lua)
    {
        var task = DbiPing(DbiOf(lua));
        return PushWhenDone(lua, task, l =>
        {
            l.PushBoolean(task.Result);
            return 1;
        });
    }

    /// <summary>Closes every connection Lua left open and fails auth calls still waiting (the runtime is going away).</summary>
    private void CloseDbiConnections()
    {
        foreach (var connection in _dbiConnections.Values) _ = connection.DisposeAsync().AsTask();
        _dbiConnections.Clear();
        foreach (var (done, _) in _pendingAuthCalls.Values) done.TrySetException(new ObjectDisposedException("Lua runtime"));
        _pendingAuthCalls.Clear();
    }

    private static async Task<bool> DbiPing(DbiConnection connection)
    {
        try
        {
            return await connection.PingAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            return false; // LuaDBI's ping answers false for a dead connection; nothing to report
        }
    }

    private int DbiClose(Lua lua)
    {
        if (_dbiConnections.Remove(lua.ToInteger(1), out var connection))
            _ = connection.DisposeAsync().AsTask();
        lua.PushBoolean(true);
        return 1;
    }

    private DbiConnection DbiOf(Lua lua) =>
        _dbiConnections.GetValueOrDefault(lua.ToInteger(1)) ?? throw new InvalidOperationException("database connection is closed");

    private static object? DbiParameter(Lua lua, int index) => lua.Type(index) switch
    {
        LuaType.Nil => null,
        LuaType.Boolean => lua.ToBoolean(index),
        LuaType.Number when lua.IsInteger(index) => lua.ToInteger(index),
        LuaType.Number => lua.ToNumber(index),
        LuaType.String => lua.ToString(index, false),
        var other => throw new ArgumentException($"cannot bind a {other} as a statement parameter"),
    };

    private static void PushDbiValue(Lua lua, object value)
    {
        switch (value)
        {
            case string s: lua.PushString(s); break;
            case long or int or short or byte or sbyte:
                lua.PushInteger(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case double or float or decimal:
                lua.PushNumber(Convert.ToDouble(value, CultureInfo.InvariantCulture)); break;
            case bool b: lua.PushBoolean(b); break;
            case byte[] bytes: lua.PushBuffer(bytes); break;
            case IFormattable f: lua.PushString(f.ToString(null, CultureInfo.InvariantCulture)); break;
            default: lua.PushString(value.ToString() ?? ""); break;
        }
    }
}
