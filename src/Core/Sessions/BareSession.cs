namespace LuaXmpp.Sessions;

/// <summary>
/// All bound resources of one account (Prosody's <c>bare_sessions[user@host]</c>) and the data
/// they share, such as the loaded roster.
/// </summary>
public sealed class BareSession(string bareJid)
{
    public string BareJid { get; } = bareJid;

    /// <summary>Bound sessions by resource.</summary>
    public Dictionary<string, ClientSession> Sessions { get; } = new(StringComparer.Ordinal);

    /// <summary>The roster, loaded once for all resources; owned by the roster module.</summary>
    public object? Roster { get; set; }

    /// <summary>
    /// Prosody's bare_session.top_resources: the available resources with the highest
    /// non-negative priority (RFC 6121 §8.5.2.1.1), where a message to the bare JID goes.
    /// Computed from each session's presence and priority, so it never goes stale; empty when
    /// none qualifies (Prosody then has nil).
    /// </summary>
    public List<ClientSession> TopResources()
    {
        var top = new List<ClientSession>();
        int best = 0;
        foreach (var session in Sessions.Values)
        {
            if (!session.IsAvailable || session.Destroyed) continue;
            int p = session.Priority ?? 0;
            if (p > best)
            {
                best = p;
                top.Clear();
                top.Add(session);
            }
            else if (p == best)
            {
                top.Add(session);
            }
        }
        return top;
    }

    /// <summary>Owned by the Lua bridge.</summary>
    public object? LuaTable { get; set; }
}
