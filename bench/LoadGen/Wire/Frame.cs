namespace LuaXmpp.Bench.LoadGen.Wire;

public enum FrameKind
{
    StreamHeader,
    Element,
    StreamEnd,
}

/// <summary>One unit of an XMPP stream as raw XML text, with cheap accessors for the few things
/// the scenarios look at (name, top-level attributes, a child's text). Not a general XML reader:
/// it relies on the server's own serialization (no CDATA, entities only in values).</summary>
public readonly record struct Frame(FrameKind Kind, string Xml)
{
    /// <summary>The element's qualified name as written, e.g. "message" or "stream:features".</summary>
    public string Name
    {
        get
        {
            var end = 1;
            while (end < Xml.Length && Xml[end] is not (' ' or '>' or '/' or '\t' or '\n' or '\r')) end++;
            return Xml[1..end];
        }
    }

    /// <summary>Whether the element is named <paramref name="name"/>, without allocating.</summary>
    public bool Is(string name) =>
        Xml.Length > name.Length + 1 && Xml[0] == '<' && Xml.AsSpan(1).StartsWith(name, StringComparison.Ordinal)
        && Xml[name.Length + 1] is ' ' or '>' or '/' or '\t' or '\n' or '\r';

    /// <summary>An attribute of the opening tag, unescaped; null when absent.</summary>
    public string? Attribute(string name)
    {
        var tagEnd = OpeningTagEnd();
        var at = 0;
        while (true)
        {
            at = Xml.IndexOf(name, at + 1, StringComparison.Ordinal);
            if (at < 0 || at > tagEnd) return null;
            var before = Xml[at - 1];
            var eq = at + name.Length;
            if (before is ' ' or '\t' or '\n' or '\r' && eq + 1 < Xml.Length && Xml[eq] == '=')
            {
                var quote = Xml[eq + 1];
                var close = Xml.IndexOf(quote, eq + 2);
                return Unescape(Xml[(eq + 2)..close]);
            }
        }
    }

    /// <summary>The text of the first element named <paramref name="name"/> anywhere inside.</summary>
    public string? ChildText(string name)
    {
        var open = Xml.IndexOf("<" + name, StringComparison.Ordinal);
        if (open < 0) return null;
        var start = Xml.IndexOf('>', open) + 1;
        if (Xml[start - 2] == '/') return "";
        var close = Xml.IndexOf("</" + name, start, StringComparison.Ordinal);
        return close < 0 ? null : Unescape(Xml[start..close]);
    }

    public bool Contains(string text) => Xml.Contains(text, StringComparison.Ordinal);

    private int OpeningTagEnd()
    {
        var quote = '\0';
        for (var i = 1; i < Xml.Length; i++)
        {
            var c = Xml[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                return i;
            }
        }

        return Xml.Length;
    }

    private static string Unescape(string text) =>
        text.Contains('&')
            ? text.Replace("&lt;", "<").Replace("&gt;", ">").Replace("&quot;", "\"").Replace("&apos;", "'").Replace("&amp;", "&")
            : text;

    public override string ToString() => Xml;
}
