using KeraLua;
using LuaXmpp.Configuration;

namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// Converts Lua values on the stack into config values: string, long (Lua integers), double,
/// bool, <see cref="ConfigTable"/>. Values with no config meaning (functions, userdata,
/// threads, cyclic tables) are dropped and reported through <see cref="Dropped"/>.
/// </summary>
internal sealed class LuaConfigValues(Lua lua)
{
    private readonly HashSet<IntPtr> _open = new();

    /// <summary>Descriptions of values that were left out, e.g. "modules.x: function".</summary>
    public List<string> Dropped { get; } = new();

    /// <summary>The value at <paramref name="index"/>, or null when it is nil or has no config meaning.</summary>
    public object? Convert(int index, string where)
    {
        switch (lua.Type(index))
        {
            case LuaType.Nil:
            case LuaType.None:
                return null;
            case LuaType.Boolean:
                return lua.ToBoolean(index);
            case LuaType.Number:
                // Boxed separately: a conditional expression would widen the integer to double.
                if (lua.IsInteger(index)) return lua.ToInteger(index);
                return lua.ToNumber(index);
            case LuaType.String:
                return lua.ToString(index, false);
            case LuaType.Table:
                return ConvertTable(lua.AbsIndex(index), where);
            default:
                Dropped.Add($"{where}: {lua.TypeName(lua.Type(index))}");
                return null;
        }
    }

    private ConfigTable? ConvertTable(int index, string where)
    {
        var identity = lua.ToPointer(index);
        if (!_open.Add(identity))
        {
            Dropped.Add($"{where}: table containing itself");
            return null;
        }
        try
        {
            var entries = new List<(object Key, object? Value)>();
            lua.PushNil();
            while (lua.Next(index))
            {
                var key = ConvertKey(-2, where);
                if (key is not null)
                {
                    var value = Convert(-1, $"{where}.{key}");
                    if (value is not null) entries.Add((key, value));
                }
                lua.Pop(1);
            }
            return Build(entries);
        }
        finally
        {
            _open.Remove(identity);
        }
    }

    private object? ConvertKey(int index, string where)
    {
        switch (lua.Type(index))
        {
            case LuaType.String:
                // ToString on a string key is safe for lua_next; numbers would be converted in place.
                return lua.ToString(index, false);
            case LuaType.Boolean:
                return lua.ToBoolean(index);
            case LuaType.Number when lua.IsInteger(index):
                return lua.ToInteger(index);
            case LuaType.Number:
                return lua.ToNumber(index);
            default:
                Dropped.Add($"{where}: key of type {lua.TypeName(lua.Type(index))}");
                return null;
        }
    }

    // The array part is the run of integer keys 1..n, in order; everything else is the hash part.
    private static ConfigTable Build(List<(object Key, object? Value)> entries)
    {
        var table = new ConfigTable();
        var integers = new Dictionary<long, object?>();
        foreach (var (key, value) in entries)
        {
            if (key is long l) integers[l] = value;
            else table.Hash[key] = value;
        }
        long n = 0;
        while (integers.TryGetValue(n + 1, out var item))
        {
            table.Array.Add(item);
            integers.Remove(++n);
        }
        foreach (var (key, value) in integers) table.Hash[key] = value;
        return table;
    }
}
