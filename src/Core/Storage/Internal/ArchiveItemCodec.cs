using System.Globalization;
using LuaXmpp.Xml;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// An archive item as mod_storage_internal stores it: the stanza in util.stanza's preserialized
/// form with the fields <c>key</c>, <c>when</c> and <c>with</c> added at its top and the time
/// also as <c>attr.stamp</c> (XEP-0082), which older files carry instead of <c>when</c>.
/// </summary>
internal static class ArchiveItemCodec
{
    public static DataTable ToItem(XmlElement stanza, string key, long when, string? with)
    {
        var item = StoredStanza.ToTable(stanza);
        var attr = item.GetTable("attr")!;
        attr["stamp"] = DateTimeOffset.FromUnixTimeSeconds(when).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        item["key"] = key;
        item["when"] = when;
        if (with is not null) item["with"] = with;
        return item;
    }

    /// <summary>The stanza of an item; null when the table does not describe one.</summary>
    public static XmlElement? ToStanza(DataTable item)
    {
        item.Remove("key");
        item.Remove("when");
        item.Remove("with");
        if (item.GetTable("attr") is { } attr)
        {
            attr.Remove("stamp");
            attr.Remove("stamp_legacy"); // COMPAT: XEP-0091 stamps in old data
        }
        return StoredStanza.FromTable(item);
    }

    /// <summary>XEP-0082 date-time to Unix seconds; 0 when absent or unreadable.</summary>
    public static long ParseStamp(string? stamp) =>
        stamp is not null && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeSeconds()
            : 0;

    /// <summary>A fresh id as Prosody makes them (util.id.medium: 18 random bytes, base64url): 24 characters.</summary>
    public static string NewKey()
    {
        Span<byte> bytes = stackalloc byte[18];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
    }
}
