using System.Text;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// The value pools inputs draw from. Contacts come from a small fixed pool on purpose: a roster,
/// blocklist or offline store filled with a million distinct JIDs would measure data growth, not a leak.
/// </summary>
public static class FuzzValues
{
    public static readonly string[] Namespaces =
    [
        "jabber:client", "jabber:iq:roster", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
        "urn:xmpp:mam:2", "urn:xmpp:sm:3", "urn:xmpp:blocking", "urn:xmpp:carbons:2", "jabber:iq:private", "vcard-temp",
        "jabber:iq:register", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", "jabber:iq:last", "urn:xmpp:csi:0",
        "jabber:x:data", "http://jabber.org/protocol/rsm", "urn:xmpp:receipts", "http://jabber.org/protocol/chatstates",
        "urn:xmpp:delay", "urn:xmpp:forward:0", "urn:xmpp:sid:0", "urn:xmpp:hints", "urn:ietf:params:xml:ns:xmpp-stanzas",
        "urn:ietf:params:xml:ns:xmpp-bind", "urn:ietf:params:xml:ns:xmpp-session", "http://jabber.org/protocol/commands",
        "http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/offline", "storage:bookmarks", "urn:xmpp:tmp:fuzz",
        "", "jabber:server", "http://etherx.jabber.org/streams", "urn:ietf:params:xml:ns:xmpp-streams",
    ];

    public static readonly string[] ElementNames =
    [
        "message", "iq", "presence", "query", "item", "body", "subject", "thread", "x", "field", "value", "set", "max",
        "before", "after", "index", "first", "last", "count", "group", "show", "status", "priority", "error", "text",
        "enable", "enabled", "r", "a", "resume", "block", "unblock", "blocklist", "storage", "vCard", "ping", "time",
        "forwarded", "result", "fin", "prefs", "always", "never", "jid", "received", "sent", "private", "request",
        "bind", "resource", "session", "remove", "username", "password", "command", "active", "inactive", "fuzz",
    ];

    public static readonly string[] AttributeNames =
    [
        "type", "to", "from", "id", "xml:lang", "node", "jid", "name", "subscription", "ask", "approved", "h", "previd",
        "resume", "max", "queryid", "var", "action", "with", "start", "end", "ver", "hash", "stamp", "by", "default",
        "version", "code", "mechanism", "location",
    ];

    public static readonly string[] Types =
    [
        "get", "set", "result", "error", "chat", "groupchat", "headline", "normal", "subscribe", "subscribed",
        "unsubscribe", "unsubscribed", "probe", "unavailable", "invisible", "submit", "cancel", "form", "hidden",
        "", " ", "GET", "chat ", "\u00e9rror",
    ];

    public static readonly string[] Texts =
    [
        "hi", "", " ", "Hello, world!", "\u00c4\u00e9\u00ee\u00f5\u00fc", "\u05e9\u05dc\u05d5\u05dd", "\ud83d\ude00\ud83d\udc4d",
        "\u202e\u202d", "a\tb\nc", "' OR 1=1 --", "%_%", "<b>&amp;</b>", "]]>", "\u00a0", "\ufeff", "0", "-1",
        "99999999999999999999999", "1e308", "NaN", "true", "2024-13-45T25:61:61Z", "1970-01-01T00:00:00Z",
        "\\", "..", "/", "@", "\u0130\u0131", "\ufb01", "\uffef", "\u3000",
    ];

    public static readonly string[] Numbers =
    [
        "0", "1", "2", "5", "10", "50", "100", "300", "1000", "-1", "-5", "4294967295", "4294967296", "18446744073709551616",
        "1.5", "", " 3", "abc", "0x10", "1e3",
    ];

    public static readonly string[] Timestamps =
    [
        "2020-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "2024-02-30T12:00:00Z",
        "2024-06-01T12:00:00.123456+02:00", "yesterday", "", "0000-00-00T00:00:00Z", "9999-99-99",
    ];

    /// <summary>Addresses that parse and route somewhere (or nowhere), and addresses that must be rejected.</summary>
    public static readonly string[] Contacts =
    [
        "contact1@{host}", "contact2@{host}", "contact3@{host}/phone", "Contact1@{HOST}", "nobody@{host}",
        "user@example.org", "example.org", "{host}", "conference.{host}", "room@conference.{host}/nick",
        "a@b@{host}", "@{host}", "user@", "{host}/", "user@{host}/", "us er@{host}", "user@[::1", "user@example..org",
        "\u05e9@{host}", "\uff41@{host}", "user\u00a0@{host}", "\"quoted\"@{host}", "", "/res", "user@{host}/\ue000",
        "{long}@{host}", "user@{long}", "user@{host}/{long}",
    ];

    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_";

    public static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    public static string Id(Random rng)
    {
        if (rng.Next(20) == 0) return Pick(rng, Texts);
        var id = new StringBuilder(12);
        int length = 1 + rng.Next(16);
        for (int i = 0; i < length; i++) id.Append(IdAlphabet[rng.Next(IdAlphabet.Length)]);
        return id.ToString();
    }

    public static string Base64(Random rng)
    {
        var bytes = new byte[rng.Next(4) == 0 ? rng.Next(3000) : rng.Next(1, 40)];
        rng.NextBytes(bytes);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>A value for an attribute or text: usually short, sometimes empty, occasionally huge
    /// (up to 64 KiB; rarely past the 256 KiB stanza limit, which must end in policy-violation).</summary>
    public static string Value(Random rng, string host)
    {
        int roll = rng.Next(400);
        if (roll == 0 && rng.Next(10) == 0) return new string('x', 300 * 1024);
        if (roll < 4) return new string(Pick(rng, "aZ\u00e9\u4e2d<&'\"".ToCharArray()), rng.Next(1, 65536));
        return (roll % 8) switch
        {
            0 => "",
            1 => Contact(rng, host),
            2 => Pick(rng, Numbers),
            3 => Pick(rng, Timestamps),
            _ => Pick(rng, Texts),
        };
    }

    public static string Contact(Random rng, string host) =>
        Pick(rng, Contacts).Replace("{host}", host).Replace("{HOST}", host.ToUpperInvariant())
            .Replace("{long}", new string('l', rng.Next(2) == 0 ? 1024 : 1100));
}
