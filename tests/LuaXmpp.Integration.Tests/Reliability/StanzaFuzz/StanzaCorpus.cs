namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// What real clients send once logged in, written from the protocols (RFC 6121, the XEPs named per
/// entry) and from what slixmpp, Conversations and Gajim put on the wire: the seeds the stanza
/// fuzzer renders and mutates. Placeholders in braces are filled per input by <see cref="StanzaInputFactory"/>:
/// {host} the server, {me}/{mybare} the sender, {peer}/{peerbare} another fuzz session, {contact} a JID from a
/// small pool (valid, unknown, remote or malformed), {id} a stanza id, {text} a text value, {n} a small number,
/// {smid} a stream-management id (another session's or junk), {b64} base64, {ts} a timestamp.
/// </summary>
/// <remarks>
/// No SASL element appears here or in the mutator's pools: the server throttles auth failures per IP,
/// and every fuzz session logs in from 127.0.0.1, so each failure would slow all reconnects.
/// </remarks>
public static class StanzaCorpus
{
    public sealed record Seed(string Name, int Weight, string Template);

    /// <summary>Seeds for an authenticated, bound session.</summary>
    public static IReadOnlyList<Seed> Session { get; } =
    [
        // RFC 6121 §2: roster get (with and without versioning), add, rename into groups, remove.
        new("roster-get", 4, "<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>"),
        new("roster-get-ver", 2, "<iq type='get' id='{id}'><query xmlns='jabber:iq:roster' ver='{n}'/></iq>"),
        new("roster-set", 4, "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{contact}' name='{text}'><group>{text}</group><group>Friends</group></item></query></iq>"),
        new("roster-remove", 2, "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{contact}' subscription='remove'/></query></iq>"),
        new("roster-push-forged", 1, "<iq type='set' id='{id}' to='{peer}'><query xmlns='jabber:iq:roster'><item jid='{contact}' subscription='both'/></query></iq>"),
        // RFC 6121 §3-4: presence (initial with caps, XEP-0115), subscriptions, probes, directed, unavailable.
        new("presence-initial", 4, "<presence><show>away</show><status>{text}</status><priority>{n}</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='{b64}'/></presence>"),
        new("presence-subscribe", 3, "<presence type='subscribe' to='{contact}' id='{id}'/>"),
        new("presence-subscribe-peer", 2, "<presence type='subscribe' to='{peerbare}'><nick xmlns='http://jabber.org/protocol/nick'>{text}</nick></presence>"),
        new("presence-subscribed", 2, "<presence type='subscribed' to='{peerbare}'/>"),
        new("presence-unsubscribe", 1, "<presence type='unsubscribe' to='{contact}'/>"),
        new("presence-unsubscribed", 1, "<presence type='unsubscribed' to='{peerbare}'/>"),
        new("presence-probe", 2, "<presence type='probe' to='{peerbare}'/>"),
        new("presence-directed", 2, "<presence to='{peer}'><show>dnd</show></presence>"),
        new("presence-unavailable", 2, "<presence type='unavailable'><status>{text}</status></presence>"),
        new("presence-muc-join", 1, "<presence to='room@conference.{host}/{text}' id='{id}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/></x></presence>"),
        new("presence-error", 1, "<presence type='error' to='{peer}'><error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"),
        // RFC 6121 §5 messages with XEP-0184 receipts, XEP-0085 chat states, XEP-0359 ids, XEP-0333 markers,
        // XEP-0334 hints, XEP-0308 corrections, XEP-0066 OOB, OMEMO payloads, XEP-0203 delay.
        new("message-chat", 6, "<message type='chat' to='{peer}' id='{id}'><body>{text}</body><request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='{id}'/><markable xmlns='urn:xmpp:chat-markers:0'/></message>"),
        new("message-chat-bare", 3, "<message type='chat' to='{peerbare}' id='{id}'><body>{text}</body></message>"),
        new("message-contact", 3, "<message type='chat' to='{contact}' id='{id}'><body>{text}</body><store xmlns='urn:xmpp:hints'/></message>"),
        new("message-receipt", 2, "<message to='{peer}' id='{id}'><received xmlns='urn:xmpp:receipts' id='{id}'/><store xmlns='urn:xmpp:hints'/></message>"),
        new("message-displayed", 2, "<message type='chat' to='{peerbare}' id='{id}'><displayed xmlns='urn:xmpp:chat-markers:0' id='{id}'/></message>"),
        new("message-composing", 3, "<message type='chat' to='{peerbare}'><composing xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/></message>"),
        new("message-groupchat", 2, "<message type='groupchat' to='room@conference.{host}' id='{id}'><body>{text}</body></message>"),
        new("message-error", 2, "<message type='error' to='{peer}' id='{id}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{text}</text></error></message>"),
        new("message-headline", 1, "<message type='headline' to='{peerbare}'><subject>{text}</subject><body>{text}</body></message>"),
        new("message-normal-self", 2, "<message to='{mybare}' id='{id}'><body>{text}</body><delay xmlns='urn:xmpp:delay' stamp='{ts}'/></message>"),
        new("message-private", 1, "<message type='chat' to='{peer}'><body>{text}</body><private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/></message>"),
        new("message-forged-carbon", 2, "<message to='{peer}' from='{peerbare}'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message type='chat' from='{contact}' to='{peer}' xmlns='jabber:client'><body>{text}</body></message></forwarded></received></message>"),
        new("message-forged-mam", 1, "<message to='{peer}'><result xmlns='urn:xmpp:mam:2' queryid='{id}' id='{id}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='{ts}'/><message xmlns='jabber:client' from='{contact}'><body>{text}</body></message></forwarded></result></message>"),
        new("message-correction", 1, "<message type='chat' to='{peerbare}' id='{id}'><body>{text}</body><replace xmlns='urn:xmpp:message-correct:0' id='{id}'/></message>"),
        new("message-oob", 1, "<message type='chat' to='{peer}' id='{id}'><body>https://{host}/upload/{b64}/a.jpg</body><x xmlns='jabber:x:oob'><url>https://{host}/upload/{b64}/a.jpg</url></x></message>"),
        new("message-omemo", 2, "<message type='chat' to='{peerbare}' id='{id}'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='{n}'><key rid='{n}' prekey='true'>{b64}</key><iv>{b64}</iv></header><payload>{b64}</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/><store xmlns='urn:xmpp:hints'/></message>"),
        new("message-stanza-id-spoof", 1, "<message type='chat' to='{peer}' id='{id}'><body>{text}</body><stanza-id xmlns='urn:xmpp:sid:0' by='{peerbare}' id='{id}'/></message>"),
        // XEP-0280 carbons.
        new("carbons-enable", 2, "<iq type='set' id='{id}'><enable xmlns='urn:xmpp:carbons:2'/></iq>"),
        new("carbons-disable", 1, "<iq type='set' id='{id}'><disable xmlns='urn:xmpp:carbons:2'/></iq>"),
        // XEP-0030 service discovery.
        new("disco-info-host", 3, "<iq type='get' to='{host}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        new("disco-items-host", 2, "<iq type='get' to='{host}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
        new("disco-info-node", 2, "<iq type='get' to='{peer}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info' node='https://conversations.im#{b64}'/></iq>"),
        new("disco-info-account", 2, "<iq type='get' to='{mybare}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        new("disco-items-node", 1, "<iq type='get' to='{host}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>"),
        // XEP-0313 MAM: form, query with a data form (XEP-0004) and RSM (XEP-0059), paging, prefs.
        new("mam-form", 1, "<iq type='get' id='{id}'><query xmlns='urn:xmpp:mam:2'/></iq>"),
        new("mam-query", 3, "<iq type='set' id='{id}'><query xmlns='urn:xmpp:mam:2' queryid='{id}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>{peerbare}</value></field><field var='start'><value>{ts}</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>{n}</max><before/></set></query></iq>"),
        new("mam-query-after", 2, "<iq type='set' id='{id}'><query xmlns='urn:xmpp:mam:2' queryid='{id}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='end'><value>{ts}</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>{n}</max><after>{id}</after></set><flip-page/></query></iq>"),
        new("mam-query-ids", 1, "<iq type='set' id='{id}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='ids'><value>{id}</value><value>{id}</value></field></x></query></iq>"),
        new("mam-query-foreign", 1, "<iq type='set' to='{peerbare}' id='{id}'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>{n}</max><index>{n}</index></set></query></iq>"),
        new("mam-prefs-get", 1, "<iq type='get' id='{id}'><prefs xmlns='urn:xmpp:mam:2'/></iq>"),
        new("mam-prefs-set", 1, "<iq type='set' id='{id}'><prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>{contact}</jid></always><never><jid>{peerbare}</jid></never></prefs></iq>"),
        // XEP-0198 stream management.
        new("sm-enable", 2, "<enable xmlns='urn:xmpp:sm:3' resume='true' max='{n}'/>"),
        new("sm-request", 3, "<r xmlns='urn:xmpp:sm:3'/>"),
        new("sm-ack", 2, "<a xmlns='urn:xmpp:sm:3' h='{n}'/>"),
        new("sm-resume", 1, "<resume xmlns='urn:xmpp:sm:3' previd='{smid}' h='{n}'/>"),
        // XEP-0191 blocking.
        new("block-get", 1, "<iq type='get' id='{id}'><blocklist xmlns='urn:xmpp:blocking'/></iq>"),
        new("block", 2, "<iq type='set' id='{id}'><block xmlns='urn:xmpp:blocking'><item jid='{contact}'/></block></iq>"),
        new("unblock", 1, "<iq type='set' id='{id}'><unblock xmlns='urn:xmpp:blocking'><item jid='{contact}'/></unblock></iq>"),
        new("unblock-all", 1, "<iq type='set' id='{id}'><unblock xmlns='urn:xmpp:blocking'/></iq>"),
        // XEP-0077 in-band registration from a logged-in session (form, same password; removal is rare).
        new("register-get", 1, "<iq type='get' id='{id}'><query xmlns='jabber:iq:register'/></iq>"),
        new("register-password", 1, "<iq type='set' id='{id}'><query xmlns='jabber:iq:register'><username>{user}</username><password>secret</password></query></iq>"),
        new("register-remove", 1, "<iq type='set' id='{id}'><query xmlns='jabber:iq:register'><remove/></query></iq>"),
        // XEP-0199 ping, XEP-0092 version, XEP-0202 time, XEP-0012 last activity.
        new("ping-host", 2, "<iq type='get' to='{host}' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        new("ping-peer", 1, "<iq type='get' to='{peer}' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        new("version", 2, "<iq type='get' to='{host}' id='{id}'><query xmlns='jabber:iq:version'/></iq>"),
        new("time", 2, "<iq type='get' to='{host}' id='{id}'><time xmlns='urn:xmpp:time'/></iq>"),
        new("last-host", 1, "<iq type='get' to='{host}' id='{id}'><query xmlns='jabber:iq:last'/></iq>"),
        new("last-peer", 1, "<iq type='get' to='{peerbare}' id='{id}'><query xmlns='jabber:iq:last'/></iq>"),
        new("iq-result-to-peer", 1, "<iq type='result' to='{peer}' id='{id}'/>"),
        new("iq-error-to-host", 1, "<iq type='error' to='{host}' id='{id}'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
        // XEP-0049 private storage (XEP-0048 bookmarks as Gajim stores them).
        new("private-get", 2, "<iq type='get' id='{id}'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>"),
        new("private-set", 2, "<iq type='set' id='{id}'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference autojoin='true' jid='room@conference.{host}' name='{text}'><nick>{text}</nick></conference></storage></query></iq>"),
        // XEP-0054 vCard.
        new("vcard-get", 2, "<iq type='get' to='{peerbare}' id='{id}'><vCard xmlns='vcard-temp'/></iq>"),
        new("vcard-set", 1, "<iq type='set' id='{id}'><vCard xmlns='vcard-temp'><FN>{text}</FN><NICKNAME>{text}</NICKNAME><PHOTO><TYPE>image/png</TYPE><BINVAL>{b64}</BINVAL></PHOTO></vCard></iq>"),
        // XEP-0352 client state indication.
        new("csi-inactive", 1, "<inactive xmlns='urn:xmpp:csi:0'/>"),
        new("csi-active", 1, "<active xmlns='urn:xmpp:csi:0'/>"),
        // Things clients also send: legacy session, a second bind, offline retrieval, PEP publish, an adhoc command.
        new("session", 1, "<iq type='set' id='{id}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"),
        new("bind-again", 1, "<iq type='set' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{text}</resource></bind></iq>"),
        new("offline-fetch", 1, "<iq type='get' id='{id}'><offline xmlns='http://jabber.org/protocol/offline'><fetch/></offline></iq>"),
        new("pep-publish", 1, "<iq type='set' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='{id}'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='{n}' id='{id}' type='image/png'/></metadata></item></publish></pubsub></iq>"),
        new("adhoc", 1, "<iq type='set' to='{host}' id='{id}'><command xmlns='http://jabber.org/protocol/commands' node='uptime' action='execute'/></iq>"),
        new("starttls-late", 1, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    ];

    /// <summary>First elements of a fresh, unauthenticated stream (after a header from <see cref="Headers"/>).</summary>
    public static IReadOnlyList<Seed> PreAuth { get; } =
    [
        new("preauth-register-get", 3, "<iq type='get' id='{id}'><query xmlns='jabber:iq:register'/></iq>"),
        new("preauth-register-set", 3, "<iq type='set' id='{id}'><query xmlns='jabber:iq:register'><username>{text}</username><password>{text}</password></query></iq>"),
        new("preauth-message", 1, "<message to='{peer}'><body>{text}</body></message>"),
        new("preauth-bind", 1, "<iq type='set' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"),
        new("preauth-starttls", 1, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        new("preauth-sm-enable", 1, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"),
        new("preauth-resume", 1, "<resume xmlns='urn:xmpp:sm:3' previd='{smid}' h='{n}'/>"),
        new("preauth-ping", 1, "<iq type='get' to='{host}' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"),
    ];

    /// <summary>Stream headers, mostly valid (RFC 6120 §4.7), some with the classic mistakes.</summary>
    public static IReadOnlyList<string> Headers { get; } =
    [
        "<?xml version='1.0'?><stream:stream to='{host}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream:stream to='{host}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream:stream to='{host}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream:stream to='{host}' version='2.0' from='{me}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream:stream to='{contact}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream to='{host}' version='1.0' xmlns='http://etherx.jabber.org/streams'>",
        "<stream:stream to='{host}' version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<s:stream to='{host}' version='1.0' xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'>",
    ];
}
