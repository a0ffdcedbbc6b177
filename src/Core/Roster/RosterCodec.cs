using LuaXmpp.Storage;

namespace LuaXmpp.Roster;

/// <summary>
/// Maps a <see cref="Roster"/> to Prosody's stored shape (store "roster", keyval): contact JIDs →
/// <c>{ subscription, name, ask, approved, groups = { [group] = true } }</c>, and under the key
/// <c>false</c> the metadata <c>{ version = n, pending = { [jid] = stanza or true } }</c>.
/// </summary>
public static class RosterCodec
{
    public static Roster Decode(DataTable? data)
    {
        var roster = new Roster();
        if (data is null) return roster;
        foreach (var (key, value) in data)
        {
            if (key is string jid && value is DataTable item && jid != "pending") roster.Items[jid] = DecodeItem(item);
        }
        if (data.TryGetValue(false, out var meta) && meta is DataTable metadata) DecodeMetadata(roster, metadata);
        // COMPAT: very old Prosody kept pending requests under the key "pending".
        if (data.GetTable("pending") is { } legacy && legacy.GetString("subscription") is null) AddPending(roster, legacy);
        return roster;
    }

    public static DataTable Encode(Roster roster)
    {
        var data = new DataTable();
        foreach (var (jid, item) in roster.Items) data[jid] = EncodeItem(item);
        data[false] = EncodeMetadata(roster);
        return data;
    }

    public static DataTable EncodeItem(RosterItem item)
    {
        var groups = new DataTable();
        foreach (var g in item.Groups) groups[g] = true;
        var table = new DataTable { ["subscription"] = item.Subscription, ["groups"] = groups };
        if (item.Name is not null) table["name"] = item.Name;
        if (item.Ask is not null) table["ask"] = item.Ask;
        if (item.Approved is not null) table["approved"] = item.Approved;
        return table;
    }

    public static DataTable EncodeMetadata(Roster roster)
    {
        var pending = new DataTable();
        foreach (var (jid, request) in roster.Pending)
        {
            pending[jid] = request is Xml.XmlElement stanza ? StoredStanza.ToTable(stanza) : true;
        }
        var meta = new DataTable(roster.ExtraMetadata) { ["pending"] = pending };
        if (roster.Version is not null) meta["version"] = roster.Version;
        return meta;
    }

    private static RosterItem DecodeItem(DataTable table)
    {
        var item = new RosterItem
        {
            Subscription = table.GetString("subscription") ?? "none",
            Name = table.GetString("name"),
            Ask = table.GetString("ask"),
            Approved = table.GetString("approved"),
        };
        if (table.GetTable("groups") is { } groups)
        {
            foreach (var (group, present) in groups)
            {
                if (group is string g && present is true) item.Groups.Add(g);
            }
        }
        return item;
    }

    private static void DecodeMetadata(Roster roster, DataTable metadata)
    {
        foreach (var (key, value) in metadata)
        {
            switch (key)
            {
                case "version":
                    roster.Version = value switch { long l => l, double d => (long)d, true => true, _ => null };
                    break;
                case "pending":
                    if (value is DataTable pending) AddPending(roster, pending);
                    break;
                case "broken":
                    break;
                default:
                    roster.ExtraMetadata[key] = value;
                    break;
            }
        }
    }

    private static void AddPending(Roster roster, DataTable pending)
    {
        foreach (var (jid, request) in pending)
        {
            if (jid is not string j) continue;
            roster.Pending[j] = StoredStanza.FromValue(request) is { } stanza ? stanza : true;
        }
    }
}
