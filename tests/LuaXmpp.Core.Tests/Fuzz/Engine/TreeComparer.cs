using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// Compares element trees structurally: name, namespace, attributes in order, children with adjacent
/// text merged (the parser merges it; a serializer may split or join it).
/// </summary>
internal static class TreeComparer
{
    /// <summary>The first difference as text, or null when the trees are equal.</summary>
    public static string? Diff(XmlElement expected, XmlElement actual, string path = "")
    {
        path += "/" + expected.Name;
        if (expected.Name != actual.Name) return $"{path}: name '{actual.Name}'";
        if (expected.Namespace != actual.Namespace) return $"{path}: namespace '{expected.Namespace}' vs '{actual.Namespace}'";
        if (expected.Attributes.Count != actual.Attributes.Count) return $"{path}: {expected.Attributes.Count} vs {actual.Attributes.Count} attributes";
        for (int i = 0; i < expected.Attributes.Count; i++)
        {
            var (e, a) = (expected.Attributes[i], actual.Attributes[i]);
            if (e.Name != a.Name || e.Value != a.Value)
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
                    if (et != at) return $"{path}: text {Show(et)} vs {Show(at)}";
                    break;
                case (XmlElement ee, XmlElement ae):
                    if (Diff(ee, ae, path) is { } diff) return diff;
                    break;
                default:
                    return $"{path}: child {i} is text in one tree and an element in the other";
            }
        }
        return null;
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

    private static string Show(string s) => "'" + (s.Length > 60 ? s[..60] + "…" : s).Replace("\u0001", "|") + "'";
}
