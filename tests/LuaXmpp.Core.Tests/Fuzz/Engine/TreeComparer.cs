using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// Compares element trees structurally: name, namespace, attributes in order, children with adjacent
/// text merged (the parser merges it; a serializer may split or join it).
/// </summary>
internal static class TreeComparer
{
    /// <summary>The first difference as text, or null when the trees are equal.</summary>
    /// <param name="writerWhitespace">Compare <paramref name="expected"/> as it reads back after
    /// XmlElementWriter writes TAB/LF/CR raw in attribute values (and namespace URIs) and CR raw in text,
    /// which XML 1.0 §3.3.3 and §2.11 then normalise. Used only to classify that known writer gap.</param>
    public static string? Diff(XmlElement expected, XmlElement actual, bool writerWhitespace = false, string path = "")
    {
        path += "/" + expected.Name;
        if (expected.Name != actual.Name) return $"{path}: name '{actual.Name}'";
        if (!Same(expected.Namespace, actual.Namespace, writerWhitespace, attribute: true)) return $"{path}: namespace '{expected.Namespace}' vs '{actual.Namespace}'";
        if (expected.Attributes.Count != actual.Attributes.Count) return $"{path}: {expected.Attributes.Count} vs {actual.Attributes.Count} attributes";
        for (int i = 0; i < expected.Attributes.Count; i++)
        {
            var (e, a) = (expected.Attributes[i], actual.Attributes[i]);
            if (!Same(e.Name, a.Name, writerWhitespace, attribute: true) || !Same(e.Value, a.Value, writerWhitespace, attribute: true))
            {
                return $"{path}: attribute {Show(e.Name)}={Show(e.Value)} vs {Show(a.Name)}={Show(a.Value)}";
            }
        }
        var ec = Merged(expected);
        var ac = Merged(actual);
        if (ec.Count != ac.Count) return $"{path}: {ec.Count} vs {ac.Count} children";
        for (int i = 0; i < ec.Count; i++)
        {
            switch (ec[i], ac[i])
            {
                case (string et, string at):
                    if (!Same(et, at, writerWhitespace, attribute: false)) return $"{path}: text {Show(et)} vs {Show(at)}";
                    break;
                case (XmlElement ee, XmlElement ae):
                    if (Diff(ee, ae, writerWhitespace, path) is { } diff) return diff;
                    break;
                default:
                    return $"{path}: child {i} is text in one tree and an element in the other";
            }
        }
        return null;
    }

    /// <summary>True when the tree has what the writer's whitespace gap changes.</summary>
    public static bool HasWriterWhitespace(XmlElement e)
    {
        if (e.Namespace.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0) return true;
        foreach (var a in e.Attributes)
        {
            if (a.Name.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0 || a.Value.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0) return true;
        }
        foreach (var c in e.Children)
        {
            if (c is XmlText t && t.Value.Contains('\r')) return true;
            if (c is XmlElement child && HasWriterWhitespace(child)) return true;
        }
        return false;
    }

    private static List<object> Merged(XmlElement e)
    {
        var result = new List<object>();
        foreach (var c in e.Children)
        {
            if (c is XmlElement child) result.Add(child);
            else if (c is XmlText { Value.Length: > 0 } t)
            {
                if (result.Count > 0 && result[^1] is string previous) result[^1] = previous + t.Value;
                else result.Add(t.Value);
            }
        }
        return result;
    }

    /// <summary>
    /// Equality, optionally of <paramref name="expected"/> as XML 1.0 normalises it when written raw:
    /// CR LF and CR become LF (§2.11), and in attribute values TAB, LF and CR become spaces (§3.3.3).
    /// Compares in place: the trees can be large and this runs per element.
    /// </summary>
    private static bool Same(string expected, string actual, bool writerWhitespace, bool attribute)
    {
        if (!writerWhitespace || expected.AsSpan().IndexOfAny('\t', '\n', '\r') < 0) return expected == actual;
        int a = 0;
        for (int e = 0; e < expected.Length; e++)
        {
            char c = expected[e];
            if (c == '\r')
            {
                if (e + 1 < expected.Length && expected[e + 1] == '\n') e++;
                c = '\n';
            }
            if (attribute && c is '\t' or '\n') c = ' ';
            if (a >= actual.Length || actual[a++] != c) return false;
        }
        return a == actual.Length;
    }

    private static string Show(string s) => "'" + (s.Length > 60 ? s[..60] + "…" : s).Replace("\u0001", "|") + "'";
}
