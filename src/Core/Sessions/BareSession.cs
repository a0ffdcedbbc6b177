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

    /// <summary>Owned by the Lua bridge.</summary>
    public object? LuaTable { get; set; }
}
