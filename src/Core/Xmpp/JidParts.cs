namespace LuaXmpp.Xmpp;

/// <summary>Splits a JID string into its raw parts (RFC 7622 §3.1), without preparing them.</summary>
public static class JidParts
{
    /// <summary>
    /// The resource starts at the first '/' and may itself hold '@' and '/'; the node ends at the
    /// first '@' before it, and the domain may hold no further '@' (as Prosody's util.jid.split).
    /// Empty parts that are present ("@d", "n@", "d/") are invalid; absent ones come back null.
    /// </summary>
    public static bool TrySplit(string? text, out string? node, out string? domain, out string? resource)
    {
        node = domain = resource = null;
        if (string.IsNullOrEmpty(text)) return false;
        int slash = text.IndexOf('/');
        string head = slash >= 0 ? text[..slash] : text;
        if (slash >= 0)
        {
            resource = text[(slash + 1)..];
            if (resource.Length == 0) return false;
        }
        int at = head.IndexOf('@');
        if (at >= 0)
        {
            node = head[..at];
            domain = head[(at + 1)..];
            if (node.Length == 0) return false;
        }
        else domain = head;
        return domain.Length > 0 && !domain.Contains('@');
    }
}
