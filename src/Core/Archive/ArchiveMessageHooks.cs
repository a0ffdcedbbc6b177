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

    private ArchiveMessageHooks(EventBus bus) => _bus = bus;

    /// <summary>Hooks the message handlers and the default policy on a host's bus, owned by the module (unhooked with it).</summary>
    public static void Hook(EventBus bus, object? owner)
    {
        var hooks = new ArchiveMessageHooks(bus);
        bus.Hook("archive-should-store", DefaultPolicy, -1, owner);
        foreach (var kind in new[] { "bare", "full" })
        {
            bus.Hook("pre-message/" + kind, hooks.Outgoing, 0, owner);
            bus.Hook("pre-message/" + kind, hooks.StripSenderId, -1, owner);
            bus.Hook("message/" + kind, hooks.Incoming, 0, owner);
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
        return ArchiveIfWanted(e, "mam-archive-outgoing");
    }

    // Delivered to a local account: the recipient's archive ("to" removed: one's own bare JID).
    private object? Incoming(EventData e)
    {
        var to = e.Stanza?.GetAttribute("to");
        if (to is null)
        {
            if (e.Origin is null or ClientSession { Username: null }) return null;
        }
        else if (JidParts.TrySplit(to, out var node, out _, out _) && node is null) return null;
        return ArchiveIfWanted(e, "mam-archive-incoming");
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

    private object? ArchiveIfWanted(EventData e, string name)
    {
        if (e.Stanza is not { } stanza) return null;
        // A stanza-id to strip changes the stanza the decision is about: the module does both.
        if (HasStanzaId(stanza)) return Delegate(e, name, decided: false);
        var decision = new EventData(null, stanza);
        decision["session"] = e.Origin;
        return _bus.Fire("archive-should-store", decision) is null or false ? null : Delegate(e, name, decided: true);
    }

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
