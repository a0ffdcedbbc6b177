using System.Globalization;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Archive;

/// <summary>
/// XEP-0313 §4.2: the &lt;message/&gt; that carries one archived item to the client that
/// queried, &lt;result queryid id&gt; around a XEP-0297 &lt;forwarded/&gt; with its XEP-0203
/// &lt;delay/&gt;. Built in C# so that a page's items never become Lua tables: at Prosody's
/// collector settings (threshold 105) each Lua byte allocated costs about twenty bytes of
/// marking, and a 50-item page built in Lua spent a fifth of the query's CPU in the collector.
/// </summary>
public static class ArchiveResultMessage
{
    public const string MamNamespace = "urn:xmpp:mam:2";
    public const string ForwardNamespace = "urn:xmpp:forward:0";

    /// <summary>What mod_mam's result message has: to the querying JID, from the archive's
    /// address (absent when the query had no "to"), the query's id when it gave one.</summary>
    public sealed record Addressing(string? To, string? From, string? QueryId);

    /// <summary>The result message for <paramref name="item"/>; takes ownership of its value
    /// (every store decodes or copies a fresh element per query).</summary>
    public static XmlElement Build(ArchiveItem item, Addressing addressing)
    {
        var message = new XmlElement("message", Namespaces.Client)
            .SetAttribute("to", addressing.To)
            .SetAttribute("from", addressing.From);
        var result = message.AddChild("result", MamNamespace)
            .SetAttribute("queryid", addressing.QueryId)
            .SetAttribute("id", item.Key);
        var forwarded = result.AddChild("forwarded", ForwardNamespace);
        forwarded.AddChild("delay", Namespaces.Delay).SetAttribute("stamp", Stamp(item.When));
        // Prosody sets the forwarded stanza's xmlns to jabber:client whatever it was stored in.
        item.Value.Namespace = Namespaces.Client;
        forwarded.AddChild(item.Value);
        return message;
    }

    /// <summary>XEP-0082 DateTime of whole seconds, as util.datetime.datetime writes it.</summary>
    public static string Stamp(long when) =>
        DateTimeOffset.FromUnixTimeSeconds(when).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
