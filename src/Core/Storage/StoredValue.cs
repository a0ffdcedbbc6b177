using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>
/// A value with the type tag Prosody's mod_storage_sql writes in the "type" column next to it:
/// "string", "number", "boolean", "xml" (a stanza) or "json" (a table).
/// </summary>
internal readonly record struct StoredValue(string Type, string Text)
{
    public static StoredValue From(object value) => value switch
    {
        string s => new("string", s),
        bool b => new("boolean", b ? "true" : "false"),
        long or int or double or float => new("number", LuaNumber.Format(value)),
        XmlElement e => new("xml", StoredXml.Write(e)),
        DataTable t => new("json", ProsodyJson.Encode(t)),
        _ => throw new ArgumentException("cannot store a value of type " + value.GetType(), nameof(value)),
    };

    /// <summary>The value, or null when the text does not match its type (Prosody fails the read then).</summary>
    public object? ToValue() => Type switch
    {
        "string" => Text,
        "boolean" => Text switch { "true" => true, "false" => false, _ => null },
        "number" => LuaNumber.Parse(Text),
        "json" => TryJson(Text),
        "xml" => TryXml(Text),
        _ => null,
    };

    private static object? TryJson(string text)
    {
        try
        {
            return ProsodyJson.Decode(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static object? TryXml(string text)
    {
        try
        {
            return StoredXml.Parse(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
