namespace LuaXmpp.Configuration;

/// <summary>
/// A Lua table from the config: its array part in order, and its other keys. Lua's
/// <c>{ "a", "b" }</c> has only an array part; <c>{ archive = "sql" }</c> only a hash part.
/// </summary>
public sealed class ConfigTable
{
    public List<object?> Array { get; } = new();

    public Dictionary<object, object?> Hash { get; } = new();

    public object? this[object key]
    {
        get
        {
            if (key is long i && i >= 1 && i <= Array.Count) return Array[(int)i - 1];
            return Hash.GetValueOrDefault(key);
        }
    }
}
