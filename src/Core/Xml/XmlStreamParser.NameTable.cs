using System.Text;
using System.Text.Unicode;

namespace LuaXmpp.Xml;

public sealed partial class XmlStreamParser
{
    /// <summary>
    /// Turns UTF-8 names, namespace URIs and short attribute values into strings without allocating for
    /// the ones every stanza repeats. A shared read-only table holds the well-known XMPP vocabulary; each
    /// parser adds a small direct-mapped cache for whatever else its peer keeps sending (bounded: a
    /// colliding entry is simply replaced).
    /// </summary>
    private sealed class NameTable
    {
        private const int CacheSize = 256;
        private const int MaxCachedLength = 64;

        private sealed record Entry(byte[] Key, string Value);

        private static readonly Entry?[] s_wellKnown = BuildWellKnown();
        private readonly Entry?[] _cache = new Entry?[CacheSize];

        /// <summary>The string for a name or URI, interned when well known or recently seen.</summary>
        public string Get(ReadOnlySpan<byte> utf8)
        {
            int hash = Hash(utf8);
            string? known = FindWellKnown(utf8, hash);
            if (known is not null) return known;
            ref Entry? slot = ref _cache[hash & (CacheSize - 1)];
            if (slot is not null && utf8.SequenceEqual(slot.Key)) return slot.Value;
            string value = Decode(utf8);
            if (utf8.Length <= MaxCachedLength) slot = new Entry(utf8.ToArray(), value);
            return value;
        }

        /// <summary>The interned string for a well-known value ("chat", "get", "en"...), else null.</summary>
        public static string? GetWellKnown(ReadOnlySpan<byte> utf8) =>
            utf8.Length > MaxCachedLength ? null : FindWellKnown(utf8, Hash(utf8));

        private static string Decode(ReadOnlySpan<byte> utf8)
        {
            if (!Utf8.IsValid(utf8)) throw XmlStreamException.NotWellFormed("Invalid UTF-8");
            return Encoding.UTF8.GetString(utf8);
        }

        private static int Hash(ReadOnlySpan<byte> utf8)
        {
            var hash = new HashCode();
            hash.AddBytes(utf8);
            return hash.ToHashCode() & int.MaxValue;
        }

        private static string? FindWellKnown(ReadOnlySpan<byte> utf8, int hash)
        {
            int mask = s_wellKnown.Length - 1;
            for (int i = hash & mask; ; i = (i + 1) & mask)
            {
                var entry = s_wellKnown[i];
                if (entry is null) return null;
                if (utf8.SequenceEqual(entry.Key)) return entry.Value;
            }
        }

        private static Entry?[] BuildWellKnown()
        {
            // Open addressing at a load factor under 1/4 keeps probes short.
            var table = new Entry?[1024];
            foreach (string word in WellKnownWords())
            {
                byte[] key = Encoding.UTF8.GetBytes(word);
                int i = Hash(key) & (table.Length - 1);
                while (table[i] is not null && !table[i]!.Key.AsSpan().SequenceEqual(key)) i = (i + 1) & (table.Length - 1);
                table[i] = new Entry(key, string.Intern(word));
            }
            return table;
        }

        private static IEnumerable<string> WellKnownWords()
        {
            string[] namespaces =
            [
                Namespaces.Client, Namespaces.Server, Namespaces.Streams, Namespaces.StreamErrors, Namespaces.Stanzas,
                Namespaces.Tls, Namespaces.Sasl, Namespaces.Bind, Namespaces.Session, Namespaces.Roster,
                Namespaces.RosterVersioning, Namespaces.PresenceSubscriptionPreApproval, Namespaces.Register,
                Namespaces.RegisterFeature, Namespaces.DiscoInfo, Namespaces.DiscoItems, Namespaces.Ping,
                Namespaces.Delay, Namespaces.DataForms, Namespaces.Xml,
                "jabber:server:dialback", "urn:xmpp:sm:3", "urn:xmpp:receipts", "urn:xmpp:chat-markers:0",
                "http://jabber.org/protocol/chatstates", "http://jabber.org/protocol/caps", "urn:xmpp:mam:2",
                "urn:xmpp:sid:0", "urn:xmpp:forward:0", "urn:xmpp:carbons:2", "urn:xmpp:csi:0", "urn:xmpp:hints",
                "vcard-temp", "vcard-temp:x:update", "http://jabber.org/protocol/muc", "http://jabber.org/protocol/muc#user",
                "jabber:iq:private", "jabber:iq:version", "jabber:iq:last", "urn:xmpp:time", "urn:xmpp:blocking",
                "http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#event", "jabber:x:oob",
                "http://jabber.org/protocol/rsm", "urn:xmpp:message-correct:0", "urn:xmpp:idle:1", "urn:xmpp:bookmarks:1",
            ];
            string[] elements =
            [
                "stream", "features", "error", "text", "message", "presence", "iq", "body", "subject", "thread",
                "show", "status", "priority", "query", "item", "group", "bind", "jid", "resource", "session",
                "starttls", "proceed", "required", "optional", "auth", "mechanisms", "mechanism", "success", "failure",
                "challenge", "response", "abort", "register", "username", "password", "x", "c", "delay", "request",
                "received", "active", "inactive", "composing", "paused", "gone", "markable", "displayed",
                "acknowledged", "origin-id", "stanza-id", "result", "forwarded", "fin", "set", "first", "last",
                "count", "max", "before", "after", "index", "identity", "feature", "field", "value", "option",
                "instructions", "title", "reported", "r", "a", "enable", "enabled", "resume", "resumed", "sm", "ping",
                "private", "disable", "sent", "store", "no-store", "no-copy", "no-permanent-store",
                "replace", "idle", "blocklist", "block", "unblock", "pubsub", "publish", "items", "event", "retract",
                "vCard", "photo", "ver", "url", "desc", "bad-request", "conflict", "feature-not-implemented",
                "forbidden", "item-not-found", "not-allowed", "not-authorized", "service-unavailable",
                "internal-server-error", "recipient-unavailable", "remote-server-not-found", "not-acceptable",
                "policy-violation", "resource-constraint", "unexpected-request", "jid-malformed",
            ];
            string[] attributes =
            [
                "to", "from", "id", "type", "xml:lang", "version", "name", "jid", "subscription", "ask",
                "approved", "node", "var", "category", "h", "by", "stamp", "hash", "code", "label", "previd",
                "location", "resume", "since", "queryid", "with", "start", "end", "xmlns", "xml", "stream", "db",
            ];
            string[] values =
            [
                "get", "set", "result", "error", "chat", "normal", "groupchat", "headline", "unavailable",
                "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "away", "xa", "dnd", "en",
                "1.0", "both", "none", "remove", "true", "false", "cancel", "modify", "wait", "continue",
                "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "ANONYMOUS",
                "EXTERNAL", "sha-1", "client", "pc", "phone", "submit", "form", "hidden", "text-single",
                "list-single", "boolean", "FORM_TYPE", "0", "1",
            ];
            return namespaces.Concat(elements).Concat(attributes).Concat(values);
        }
    }
}
