using LuaXmpp.Events;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Archive;

/// <summary>
/// mod_mam's hooks on the message path, in C# so that a message that is not archived (a
/// headline, a chat state, anything "archive-should-store" declines) costs no Lua: issue 11
/// measured ~30 µs of loop CPU per routed message for two Lua chains that decided "no". Where the
/// module has work to do (the message is to be archived, or carries a stanza-id this server must
/// strip, XEP-0359 §3.3), the handler fires mod_mam's own event for it ("mam-archive-outgoing",
/// "mam-archive-incoming", "mam-strip-sender-id"), where the Lua module archives as before and
/// may wait (strict durability); its result and the stanza it hands on come back to the chain.
/// The same priorities as mod_mam's Lua hooks had: 0 to archive, -1 to strip the sender's id
/// (after carbons at -0.5 copied it).
/// </summary>
public sealed class ArchiveMessageHooks
{
    /// <summary>Set on the delegated event when this pass already asked "archive-should-store" about the same stanza (the answer was yes).</summary>
    public const string Decided = "mam_should_store";

    private const string StanzaIdNs = "urn:xmpp:sid:0";
    private readonly EventBus _bus;
    private readonly string _host;
    private readonly ArchiveHookOptions _options;
    // Users the module found without stored preferences (prefs.get): for them the default rule applies.
    private readonly HashSet<string> _defaultPrefs = new(StringComparer.Ordinal);

    private ArchiveMessageHooks(EventBus bus, string host, ArchiveHookOptions options)
    {
        _bus = bus;
        _host = host;
        _options = options;
    }

    /// <summary>Hooks the message handlers and the default policy on a host's bus, owned by the module (unhooked with it).</summary>
    public static ArchiveMessageHooks Hook(EventBus bus, string host, ArchiveHookOptions options, object? owner)
    {
        var hooks = new ArchiveMessageHooks(bus, host, options);
        bus.Hook("archive-should-store", DefaultPolicy, -1, owner);
        foreach (var kind in new[] { "bare", "full" })
        {
            bus.Hook("pre-message/" + kind, hooks.Outgoing, 0, owner);
            bus.Hook("pre-message/" + kind, hooks.StripSenderId, -1, owner);
            bus.Hook("message/" + kind, hooks.Incoming, 0, owner);
        }
        return hooks;
    }

    /// <summary>
    /// The module tells whether a user has no stored preferences (the default rule applies):
    /// true after it read none, false when they are set or the user left its preferences cache
    /// (so this set is as large as that cache). Bounded anyway: past 100,000 users it starts over.
    /// </summary>
    public void DefaultPreferences(string user, bool none)
    {
        if (!none) _defaultPrefs.Remove(user);
        else
        {
            if (_defaultPrefs.Count >= 100_000) _defaultPrefs.Clear();
            _defaultPrefs.Add(user);
        }
    }

    private static object? DefaultPolicy(EventData e)
    {
        var (store, why) = ArchivePolicy.ShouldStore(e.Stanza!);
        e["reason"] = why;
        return store;
    }

    // Sent by a local client: the sender's archive.
    private object? Outgoing(EventData e)
    {
        if (e.Origin is not { Type: "c2s" } origin) return null;
        if (origin is ClientSession { Username: null }) return null;
        // The sender's archive, with the recipient (or one's own bare JID) as peer.
        var user = (origin as ClientSession)?.Username;
        var peer = user is null ? null : Bare(e.Stanza?.GetAttribute("to") ?? user + "@" + _host);
        return ArchiveIfWanted(e, "mam-archive-outgoing", user, peer);
    }

    // Delivered to a local account: the recipient's archive ("to" removed: one's own bare JID).
    private object? Incoming(EventData e)
    {
        var to = e.Stanza?.GetAttribute("to");
        string? user = null;
        if (to is null)
        {
            if (e.Origin is null or ClientSession { Username: null }) return null;
            user = (e.Origin as ClientSession)?.Username;
        }
        else if (JidParts.TrySplit(to, out var node, out _, out _))
        {
            if (node is null) return null;
            user = node;
        }
        // The recipient's archive, with the sender as peer.
        var peer = user is null ? null : Bare(e.Stanza?.GetAttribute("from") ?? user + "@" + _host);
        return ArchiveIfWanted(e, "mam-archive-incoming", user, peer);
    }

    // The sender's own stanza-id (the one its archive just added) must not leave with the message.
    private object? StripSenderId(EventData e)
    {
        if (e.Origin is null || e.Stanza is not { } stanza || !HasStanzaId(stanza)) return null;
        if (e.Origin is ClientSession { Username: null }) return null;
        if (e.Origin is not ClientSession { Username: { } user } origin || !OnlyOwnIds(stanza, user + "@" + origin.Host))
            return Delegate(e, "mam-strip-sender-id", decided: false);
        var copy = stanza.Clone();
        copy.RemoveChildren(IsStanzaId);
        e.Stanza = copy;
        return null;
    }

    // Every stanza-id names exactly this bare JID as 'by' (as this module writes it); any other
    // spelling goes to the Lua module, which compares prepared JIDs.
    private static bool OnlyOwnIds(XmlElement stanza, string bare)
    {
        foreach (var id in stanza.Elements("stanza-id", StanzaIdNs))
        {
            if (id.GetAttribute("by") != bare) return false;
        }
        return true;
    }

    private static bool IsStanzaId(XmlElement child) => child.Name == "stanza-id" && child.Namespace == StanzaIdNs;

    // user and peer are null when only the module can tell them (an unusual origin or address).
    private object? ArchiveIfWanted(EventData e, string name, string? user, string? peer)
    {
        if (e.Stanza is not { } stanza) return null;
        // A stanza-id to strip changes the stanza the decision is about: the module does both.
        if (HasStanzaId(stanza)) return Delegate(e, name, decided: false);
        var decision = new EventData(null, stanza);
        decision["session"] = e.Origin;
        // A handler may wait (a policy reading storage): the message's pass waits for its answer.
        var should = _bus.FireAsync("archive-should-store", decision);
        if (!should.IsCompletedSuccessfully) return ArchiveAfterAsync(e, name, user, peer, should);
        return AfterDecision(should.Result, e, name, user, peer);
    }

    private object? AfterDecision(object? should, EventData e, string name, string? user, string? peer)
    {
        if (should is null or false || e.Stanza is not { } stanza) return null;
        if (user is not null && peer is not null && TryArchive(e, stanza, user, peer)) return null;
        return Delegate(e, name, decided: true);
    }

    private async Task<object?> ArchiveAfterAsync(EventData e, string name, string? user, string? peer, ValueTask<object?> should)
    {
        var result = AfterDecision(await should, e, name, user, peer);
        return result is Task<object?> delegated ? await delegated : result;
    }

    /// <summary>
    /// mod_mam's archiving in the common case: batched durability, an account online here whose
    /// preferences are the default rule "always" or "never". Returns false to leave the message
    /// to the module (strict mode, stored or roster preferences, an archive refusing appends).
    /// </summary>
    private bool TryArchive(EventData e, XmlElement stanza, string user, string peer)
    {
        if (_options.Service is not { } service || _options.DefaultPolicy is not bool always) return false;
        var bare = user + "@" + _host;
        if (!_defaultPrefs.Contains(user) || !_options.AccountOnline(bare)) return false;
        if (!always) return true; // preferences: never
        // The stored copy leaves out dont_archive_namespaces; nothing left, nothing stored.
        var stored = stanza.Clone();
        if (_options.SkipNamespaces.Count > 0)
        {
            stored.RemoveChildren(c => _options.SkipNamespaces.Contains(c.Namespace));
            if (stored.FirstElement() is null) return true;
        }
        if (service.TryAppend(user, stored, _options.Time.GetUtcNow().ToUnixTimeSeconds(), peer) is not { } added) return false;
        var delivered = stanza.Clone();
        delivered.AddChild(new XmlElement("stanza-id", StanzaIdNs).SetAttribute("by", bare).SetAttribute("id", added.Id));
        e.Stanza = delivered;
        if (_bus.HasHandlers("archive-message-added"))
        {
            var note = new EventData(e.Origin, stored);
            note["for_user"] = user;
            note["id"] = added.Id;
            _bus.Fire("archive-message-added", note);
        }
        return true;
    }

    // util.jid.bare: null for a JID that does not split.
    private static string? Bare(string jid) =>
        JidParts.TrySplit(jid, out var node, out var domain, out _) ? (node is null ? domain : node + "@" + domain) : null;

    private object? Delegate(EventData e, string name, bool decided)
    {
        var work = new EventData(e.Origin, e.Stanza);
        if (decided) work[Decided] = true;
        var pending = _bus.FireAsync(name, work);
        if (!pending.IsCompletedSuccessfully) return HandOnLater(e, work, pending);
        e.Stanza = work.Stanza;
        return pending.Result;
    }

    private static async Task<object?> HandOnLater(EventData e, EventData work, ValueTask<object?> pending)
    {
        var result = await pending;
        e.Stanza = work.Stanza;
        return result;
    }

    private static bool HasStanzaId(XmlElement stanza) => stanza.Element("stanza-id", StanzaIdNs) is not null;
}
