namespace LuaXmpp.Xml;

/// <summary>
/// A stanza under construction with its insertion point, as Prosody's builder keeps it
/// (<c>st.reply(iq):tag("query")</c> leaves the cursor inside &lt;query/&gt;). Events such as
/// account-disco-info hand one to handlers as <c>event.reply</c>, so <c>reply:tag(...)</c> from a
/// Lua module lands inside the query, exactly as on Prosody.
/// </summary>
/// <param name="Root">The stanza that will be sent.</param>
/// <param name="Cursor">Where children are added: <see cref="Root"/> or one of its descendants.</param>
public sealed record StanzaBuilder(XmlElement Root, XmlElement Cursor)
{
    /// <summary>The element-child positions (1-based, as Lua's tags[]) from the root down to the cursor; null if it is not below the root.</summary>
    public IReadOnlyList<int>? PathToCursor()
    {
        var path = new List<int>();
        return Find(Root, path) ? path : null;
    }

    private bool Find(XmlElement at, List<int> path)
    {
        if (ReferenceEquals(at, Cursor)) return true;
        int index = 0;
        foreach (var child in at.Elements())
        {
            path.Add(++index);
            if (Find(child, path)) return true;
            path.RemoveAt(path.Count - 1);
        }
        return false;
    }
}
