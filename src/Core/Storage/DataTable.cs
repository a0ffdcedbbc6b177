namespace LuaXmpp.Storage;

/// <summary>
/// A stored Lua table: keys are string, long or bool (Prosody stores roster metadata under the
/// key <c>false</c>); values are null, bool, long, double, string, <see cref="Xml.XmlElement"/> or
/// another <see cref="DataTable"/>. An array is keys 1..n.
/// </summary>
public sealed class DataTable : Dictionary<object, object?>
{
    public DataTable()
    {
    }

    public DataTable(IEnumerable<KeyValuePair<object, object?>> items)
    {
        foreach (var (k, v) in items) this[k] = v;
    }

    public string? GetString(object key) => TryGetValue(key, out var v) ? v as string : null;

    public DataTable? GetTable(object key) => TryGetValue(key, out var v) ? v as DataTable : null;
}
