using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>Copies and key rules shared by the drivers, so callers never share mutable data with a store.</summary>
internal static class DataValues
{
    /// <summary>A deep copy of a stored value (tables and stanzas copied, scalars as they are).</summary>
    public static object? Copy(object? value) => value switch
    {
        DataTable t => CopyTable(t),
        XmlElement e => e.Clone(),
        int i => (long)i,
        float f => (double)f,
        _ => value,
    };

    public static DataTable CopyTable(DataTable table)
    {
        var copy = new DataTable();
        foreach (var (k, v) in table) copy[LuaNumber.NormalizeKey(k)] = Copy(v);
        return copy;
    }

    /// <summary>Prosody's sql driver gives a key its own row only when it is a non-empty string; the rest share the "" row.</summary>
    public static bool HasOwnRow(object key) => key is string s && s.Length > 0;

    /// <summary>Lua cannot hold nil in a table, so a null value at the top of a keyval table means "absent".</summary>
    public static DataTable? WithoutNulls(DataTable? data)
    {
        if (data is null) return null;
        var result = new DataTable();
        foreach (var (k, v) in data)
        {
            if (v is not null) result[LuaNumber.NormalizeKey(k)] = Copy(v);
        }
        return result.Count == 0 ? null : result;
    }
}
