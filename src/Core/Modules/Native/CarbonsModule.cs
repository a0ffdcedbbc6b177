using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_carbons: XEP-0280 Message Carbons with Prosody 0.12's rules, in C# so that the two hooks
/// it puts on every message cost no Lua crossing. The copy policy is the event
/// "carbons-should-copy" ({stanza, session} → true to copy, event.reason), as in Prosody, so a
/// module can still decide. Prosody's file wins when it is on plugin_paths (docs/BRIDGE.md).
/// </summary>
public sealed class CarbonsModule : INativeModule
{
    private const string Xmlns = "urn:xmpp:carbons:2";
    private const string Forward = "urn:xmpp:forward:0";
    private const string WantCarbons = "want_carbons";

    private ModuleContext _module = null!;

    public string Name => "carbons";

    public void Load(ModuleContext module)
    {
        _module = module;
        module.AddFeature("urn:xmpp:carbons:rules:0");
        module.AddFeature(Xmlns);
        module.Hook("iq-set/self/" + Xmlns + ":enable", Toggle);
        module.Hook("iq-set/self/" + Xmlns + ":disable", Toggle);
        module.Hook("carbons-should-copy", e =>
        {
            var (copy, why) = ShouldCopy(e.Stanza!);
            e["reason"] = why;
            return copy;
        }, -1);
        foreach (var kind in new[] { "host", "bare", "full" }) module.Hook("pre-message/" + kind, e => Handle(e, sent: true), -0.5);
        module.Hook("message/bare", e => Handle(e, sent: false), -0.5);
        module.Hook("message/full", e => Handle(e, sent: false), -0.5);
    }

    private static object? Toggle(EventData e)
    {
        if (e.Origin is not ClientSession origin) return null;
        var state = e.Stanza!.FirstElement()!;
        // Prosody keeps the namespace the client enabled with (truthy), or false.
        origin.Fields[WantCarbons] = state.Name == "enable" ? state.Namespace : null;
        origin.Log.Debug($"{origin.FullJid} {state.Name}d carbons");
        origin.Send(StanzaReply.Result(e.Stanza!));
        return true;
    }

    /// <summary>
    /// Prosody's default policy (XEP-0280 §6), called as Prosody's handler calls it: without the
    /// direction, so MUC private messages and bounces are judged as incoming.
    /// </summary>
    private static (bool Copy, string Why) ShouldCopy(XmlElement stanza)
    {
        var type = stanza.GetAttribute("type") ?? "normal";
        if (stanza.Element("private", Xmlns) is not null) return (false, "private");
        if (stanza.Element("no-copy", "urn:xmpp:hints") is not null) return (false, "hint");
        if (stanza.GetAttribute("to") is not null && stanza.Element("x", "http://jabber.org/protocol/muc#user") is not null) return (false, "muc-pm");
        if (type == "chat") return (true, "type");
        if (type == "normal" && stanza.Element("body", Namespaces.Client) is not null) return (true, "type");
        // A bounce of a message sent to a bare JID comes from that bare JID (no 'from' counts as bare).
        if (type == "error" && !(JidParts.TrySplit(stanza.GetAttribute("from") ?? "", out _, out _, out var resource) && resource is not null))
            return (true, "bounce");
        if (HasNamespace(stanza, "urn:xmpp:jingle-message:0") || HasNamespace(stanza, "urn:xmpp:jingle-message:1")) return (true, "jingle call");
        // Prosody asks for a stanza-id whose 'by' equals the user's bare JID, which it does not pass here.
        foreach (var id in stanza.Elements("stanza-id", "urn:xmpp:sid:0"))
        {
            if (id.GetAttribute("by") is null) return (true, "archived");
        }
        return (false, "default");
    }

    private static bool HasNamespace(XmlElement stanza, string ns)
    {
        foreach (var child in stanza.Elements())
        {
            if (child.Namespace == ns) return true;
        }
        return false;
    }

    private object? Handle(EventData e, bool sent)
    {
        var stanza = e.Stanza!;
        var sessions = _module.Server.Sessions;
        var type = stanza.GetAttribute("type") ?? "normal";
        var from = stanza.GetAttribute("from");
        var to = stanza.GetAttribute("to");
        var bareFrom = Bare(from);
        string? bareJid = bareFrom;
        Session? target = e.Origin;
        int? topPriority = null;
        bool hasTop = false;
        var user = bareFrom is null ? null : sessions.GetBare(bareFrom);
        if (!sent)
        {
            bareJid = Bare(to);
            target = to is null ? null : sessions.GetFull(to);
            user = bareJid is null ? null : sessions.GetBare(bareJid);
            if (target is null && user?.TopResources() is [var top, ..])
            {
                // The top resources get this message by the normal rules: no carbon for them.
                hasTop = true;
                topPriority = top.Priority;
            }
        }
        if (user is null) return null; // nobody online to copy to
        if (!AnyWantsCarbons(user, target) && OnlyDefaultPolicy())
        {
            // Nobody would get a copy and the policy is ours alone (a pure function of the
            // stanza): its one effect left is stripping <private/> from an incoming message.
            if (!sent && stanza.Element("private", Xmlns) is not null) StripPrivate(stanza);
            return null;
        }

        var decision = new EventData(e.Origin, stanza);
        decision["session"] = e.Origin;
        // A policy handler may wait (contract §0.8): the message's pass then waits for the copies.
        var should = _module.FireEventAsync("carbons-should-copy", decision);
        // A struct: a chain that did not wait allocates nothing more for it.
        var plan = new CopyPlan(stanza, sent, decision, user, target, hasTop, topPriority, bareFrom, bareJid, to, type);
        if (!should.IsCompletedSuccessfully) return CopyAfterAsync(should, plan);
        return Copy(should.Result, plan);
    }

    // The copy loop's first test, ahead of it: without a session that enabled carbons (other than
    // the one the message is for) there is nothing to copy.
    private static bool AnyWantsCarbons(BareSession user, Session? target)
    {
        foreach (var session in user.Sessions.Values)
        {
            if (session.Fields.GetValueOrDefault(WantCarbons) is not null && !ReferenceEquals(session, target)) return true;
        }
        return false;
    }

    // Only our own handler on "carbons-should-copy": no module added a policy (or wants to see
    // the event), so it need not be fired when its answer cannot matter.
    private bool OnlyDefaultPolicy() =>
        _module.Host.Events.Handlers("carbons-should-copy") is [var only] && only.Owner == _module;

    private readonly record struct CopyPlan(XmlElement Stanza, bool Sent, EventData Decision, BareSession User, Session? Target,
        bool HasTop, int? TopPriority, string? BareFrom, string? BareJid, string? To, string Type);

    private static async Task<object?> CopyAfterAsync(ValueTask<object?> should, CopyPlan plan) => Copy(await should, plan);

    private static object? Copy(object? should, in CopyPlan plan)
    {
        var (stanza, sent, decision, user, target, hasTop, topPriority, bareFrom, bareJid, to, type) = plan;
        if (should is null or false)
        {
            if (decision["reason"] as string == "private" && !sent) StripPrivate(stanza);
            return null;
        }

        XmlElement? carbon = null;
        foreach (var session in user.Sessions.Values)
        {
            if (session.Fields.GetValueOrDefault(WantCarbons) is null || ReferenceEquals(session, target)) continue;
            if (!sent && hasTop && session.Priority == topPriority) continue;
            if (carbon is null)
            {
                var copy = stanza.Clone();
                if (sent && to is null) stanza.SetAttribute("to", bareFrom);
                carbon = new XmlElement("message", Namespaces.Client);
                carbon.SetAttribute("from", bareJid).SetAttribute("type", type);
                carbon.AddChild(sent ? "sent" : "received", Xmlns).AddChild("forwarded", Forward).AddChild(copy);
            }
            var each = carbon.Clone();
            each.SetAttribute("to", session.FullJid?.ToString());
            session.Send(each);
        }
        return null;
    }

    // XEP-0280 (avoiding carbons for one message): <private/> is for the server; the recipient gets the message without it.
    private static void StripPrivate(XmlElement stanza) =>
        stanza.RemoveChildren(c => c.Name == "private" && c.Namespace == Xmlns);

    private static string? Bare(string? jid)
    {
        if (jid is null || !JidParts.TrySplit(jid, out var node, out var domain, out _)) return null;
        return node is null ? domain : node + "@" + domain;
    }
}
