namespace LuaXmpp.Roster;

/// <summary>
/// One contact (RFC 6121 §2.1.2), stored as Prosody stores it: subscription "none", "to",
/// "from" or "both"; ask "subscribe" while an outbound request is pending; approved "true" for a
/// pre-approval (RFC 6121 §3.4); groups as a set. Mutable: the loaded roster is shared by all of
/// an account's resources and changed in place on the loop.
/// </summary>
public sealed class RosterItem
{
    public string Subscription { get; set; } = "none";

    public string? Name { get; set; }

    public string? Ask { get; set; }

    public string? Approved { get; set; }

    /// <summary>Group names in the order first seen.</summary>
    public List<string> Groups { get; } = new();

    /// <summary>The contact receives the user's presence (subscription from or both).</summary>
    public bool SendsPresenceTo => Subscription is "from" or "both";

    /// <summary>The user receives the contact's presence (subscription to or both).</summary>
    public bool ReceivesPresenceFrom => Subscription is "to" or "both";
}
