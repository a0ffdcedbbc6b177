namespace LuaXmpp.Roster;

/// <summary>
/// A user's roster as Prosody's rostermanager keeps it: contacts by bare JID, plus the metadata
/// Prosody stores under the key <c>false</c>: the roster version (a number, or <c>true</c> when
/// versioning is off) and pending inbound subscription requests (the request stanza, or
/// <c>true</c>), re-sent on the next initial presence (RFC 6121 §3.1.3).
/// </summary>
public sealed class Roster
{
    public Dictionary<string, RosterItem> Items { get; } = new(StringComparer.Ordinal);

    /// <summary>long, true (versioning disabled), or null before the first save.</summary>
    public object? Version { get; set; }

    /// <summary>Inbound requests by contact bare JID: the stored stanza (XmlElement) or true.</summary>
    public Dictionary<string, object> Pending { get; } = new(StringComparer.Ordinal);

    /// <summary>Other metadata keys found in storage, kept so a save does not lose them.</summary>
    public Dictionary<object, object?> ExtraMetadata { get; } = new();

    /// <summary>Set when the stored roster could not be read; such a roster is never saved over it.</summary>
    public bool Broken { get; set; }

    public RosterItem? Get(string jid) => Items.GetValueOrDefault(jid);

    /// <summary>The version as sent in 'ver' attributes; "1" before the first change, as Prosody.</summary>
    public string VersionString => Version is long v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "1";

    /// <summary>Bumps the version for a change, unless versioning is switched off (version true).</summary>
    public void BumpVersion()
    {
        if (Version is true) return;
        Version = (Version is long v ? v : 0) + 1;
    }
}
