using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>
/// Converts stanzas to and from the plain-table form Prosody stores them in inside other data
/// (util.stanza's preserialize/deserialize): <c>{ name = ..., attr = { ... }, [1] = child or text, ... }</c>,
/// with <c>attr.xmlns</c> only where an element's namespace differs from its parent's.
/// </summary>
public static class StoredStanza
{
    public static DataTable ToTable(XmlElement element, string parentNamespace = Namespaces.Client)
    {
        var attr = new DataTable();
        if (element.Namespace != parentNamespace) attr["xmlns"] = element.Namespace;
        foreach (var a in element.Attributes) attr[a.Name] = a.Value;
        var table = new DataTable { ["name"] = element.Name, ["attr"] = attr };
        long i = 1;
        foreach (var child in element.Children)
        {
            table[i++] = child switch
            {
                XmlElement e => ToTable(e, element.Namespace),
                XmlText t => t.Value,
                _ => null,
            };
        }
        return table;
    }

    /// <summary>The element a stored table describes; null if it is not one.</summary>
    public static XmlElement? FromTable(DataTable table, string parentNamespace = Namespaces.Client)
    {
        if (table.GetString("name") is not { } name) return null;
        var attr = table.GetTable("attr");
        var element = new XmlElement(name, attr?.GetString("xmlns") ?? parentNamespace);
        if (attr is not null)
        {
            foreach (var (key, value) in attr)
            {
                if (key is string k && k != "xmlns" && value is string v) element.SetAttribute(k, v);
            }
        }
        for (long i = 1; table.TryGetValue(i, out var child); i++)
        {
            if (child is string text) element.AddText(text);
            else if (child is DataTable t && FromTable(t, element.Namespace) is { } e) element.AddChild(e);
        }
        return element;
    }

    /// <summary>Accepts either form a driver may hand back: an element, or the table form.</summary>
    public static XmlElement? FromValue(object? value) => value switch
    {
        XmlElement e => e.Clone(),
        DataTable t => FromTable(t),
        _ => null,
    };
}
