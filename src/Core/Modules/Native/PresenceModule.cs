using System.Globalization;
using System.Text.RegularExpressions;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Roster;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_presence: RFC 6121 §4 presence (initial and unavailable broadcast, probes, directed
/// presence, priorities) and §3 subscriptions (in PresenceModule.Subscriptions.cs), on the same
/// events and with the same results as Prosody's module.
/// </summary>
public sealed partial class PresenceModule : INativeModule
{
    private static readonly Regex PriorityPattern = new("^[+-]?[0-9]+$", RegexOptions.CultureInvariant);
    private ModuleContext _module = null!;
    private RosterManager _rosters = null!;
    private bool _ignorePriority;

    public string Name => "presence";

    public void Load(ModuleContext module)
    {
        _module = module;
        _rosters = RosterManager.For(module.Server, module.Host);
        RosterManager.AttachToBinding(module.Server);
        _ignorePriority = module.GetOptionBoolean("ignore_presence_priority", false);
        module.Hook("stream-features", AddPreApprovalFeature);
        module.Hook("pre-presence/full", Outbound);
        module.Hook("pre-presence/bare", Outbound);
        module.Hook("pre-presence/host", Outbound);
        module.Hook("presence/bare", InboundBare);
        module.Hook("presence/full", InboundFull);
        module.Hook("presence/host", InboundHost);
        module.Hook("resource-unbind", ResourceUnbind);
        module.Hook("roster-item-removed", RosterItemRemoved, -1);
    }

    /// <summary>RFC 6121 §3.4.1: advertise subscription pre-approval to authenticated streams.</summary>
    private object? AddPreApprovalFeature(EventData e)
    {
        if (e.Origin is ClientSession { Username: not null } && e["features"] is XmlElement features)
        {
            features.AddChild("sub", Namespaces.PresenceSubscriptionPreApproval);
        }
        return null;
    }

    private void Post(Session origin, XmlElement stanza, bool preEvents = true) =>
        _module.Server.Router.Post(origin, stanza, preEvents);

    private static XmlElement NewPresence(string? from, string? to, string? type = null)
    {
        var p = new XmlElement("presence", Namespaces.Client);
        p.SetAttribute("from", from);
        p.SetAttribute("to", to);
        p.SetAttribute("type", type);
        return p;
    }

    private static XmlElement Addressed(XmlElement stanza, string? to, string? from = null)
    {
        var copy = stanza.Clone();
        copy.SetAttribute("to", to);
        if (from is not null) copy.SetAttribute("from", from);
        return copy;
    }

    private int ParsePriority(XmlElement stanza)
    {
        var priority = stanza.Element("priority", Namespaces.Client);
        if (priority is null) return 0;
        if (_ignorePriority && priority.Text != "0")
        {
            priority.Children.Clear();
            priority.AddText("0");
        }
        var text = priority.Text;
        if (!PriorityPattern.IsMatch(text) || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return 0;
        return (int)Math.Clamp(value, -128, 127);
    }

    /// <summary>Presence a client sends with no 'to' (RFC 6121 §4.2, §4.4, §4.5): broadcast and bookkeeping.</summary>
    /// <returns>null when done; a Task when a handler of presence/initial or the offline
    /// broadcast waits (Lua storage), which the presence chain then waits for.</returns>
    private Task? HandleNormalPresence(ClientSession origin, XmlElement stanza)
    {
        int priority = ParsePriority(stanza);
        var sessions = _module.Server.Sessions;
        var fullJid = origin.FullJid!.ToString();
        if (sessions.GetFull(fullJid) is not null) origin.Send(stanza.Clone());
        var roster = RosterManager.Of(origin) ?? new Roster.Roster();
        var user = sessions.GetBare(origin.FullJid.Bare.ToString());
        var others = user?.Sessions.Values.Where(s => s != origin).ToArray() ?? [];
        // A going resource asks each sibling's socket (a mass reset's siblings are gone before
        // their read loops notice); other broadcasts only look at what is known.
        bool going = stanza.GetAttribute("type") == "unavailable";
        foreach (var res in others)
        {
            // A resource whose connection is already gone (and has no XEP-0198 queue) could not
            // receive it: routing it would only cost the loop time (issue 16 item 7).
            if (res.IsAvailable && !(going ? res.ProbeUnreachable() : res.Unreachable)) Post(origin, Addressed(stanza, res.FullJid!.ToString()));
        }
        foreach (var (jid, item) in roster.Items.ToArray())
        {
            if (item.SendsPresenceTo) Post(origin, Addressed(stanza, jid));
        }
        var type = stanza.GetAttribute("type");
        if (type is null && !origin.IsAvailable)
        {
            var initial = InitialPresence(origin, stanza, roster, others, priority);
            if (!initial.IsCompletedSuccessfully) return StoreAfterAsync(initial, origin, stanza, priority);
        }
        StorePresence(origin, stanza, type, priority);
        return null;
    }

    private async Task StoreAfterAsync(ValueTask initial, ClientSession origin, XmlElement stanza, int priority)
    {
        await initial;
        StorePresence(origin, stanza, stanza.GetAttribute("type"), priority);
    }

    /// <summary>What the session's presence is now: none after unavailable, else the stanza with a delay stamp (for probes).</summary>
    private void StorePresence(ClientSession origin, XmlElement stanza, string? type, int priority)
    {
        if (type == "unavailable")
        {
            origin.Presence = null;
            origin.Priority = null;
            foreach (var jid in origin.Directed.ToArray()) Post(origin, Addressed(stanza, jid));
            origin.Directed.Clear();
        }
        else
        {
            var stored = stanza.Clone();
            stored.SetAttribute("to", null);
            var delay = stored.AddChild("delay", Namespaces.Delay);
            delay.SetAttribute("from", _module.Host.Name);
            delay.SetAttribute("stamp", _module.Server.Loop.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            origin.Presence = stored;
            origin.Priority = priority;
        }
    }

    /// <summary>
    /// RFC 6121 §4.2.2: on initial presence the server probes the contacts the user is subscribed
    /// to, shows the user's other resources, re-sends pending subscription requests both ways
    /// (§3.1.3, §3.1.2) and delivers offline messages.
    /// </summary>
    /// <remarks>As in Prosody, where mod_presence runs in the session's runner, handlers of
    /// presence/initial and message/offline/broadcast may wait (mod_bookmarks reads PEP there);
    /// the rest goes on when they are done.</remarks>
    private ValueTask InitialPresence(ClientSession origin, XmlElement stanza, Roster.Roster roster, ClientSession[] others, int priority)
    {
        var fired = _module.Host.Events.FireAsync("presence/initial", new EventData(origin, stanza));
        if (!fired.IsCompletedSuccessfully) return new ValueTask(AfterInitialEventAsync(fired, origin, stanza, roster, others, priority));
        return AfterInitialEvent(origin, stanza, roster, others, priority);
    }

    private async Task AfterInitialEventAsync(ValueTask<object?> fired, ClientSession origin, XmlElement stanza, Roster.Roster roster, ClientSession[] others, int priority)
    {
        await fired;
        await AfterInitialEvent(origin, stanza, roster, others, priority);
    }

    private ValueTask AfterInitialEvent(ClientSession origin, XmlElement stanza, Roster.Roster roster, ClientSession[] others, int priority)
    {
        origin.Presence = stanza;
        var fullJid = origin.FullJid!.ToString();
        foreach (var (jid, item) in roster.Items.ToArray())
        {
            if (item.ReceivesPresenceFrom) Post(origin, NewPresence(fullJid, jid, "probe"));
        }
        foreach (var res in others)
        {
            if (res.Presence is { } presence) Post(res, Addressed(presence, fullJid));
        }
        foreach (var (jid, request) in roster.Pending.ToArray())
        {
            var subscribe = request is XmlElement stored ? stored.Clone() : NewPresence(null, null);
            subscribe.SetAttribute("type", "subscribe");
            subscribe.SetAttribute("from", jid);
            origin.Send(subscribe);
        }
        var bare = origin.FullJid.Bare.ToString();
        foreach (var (jid, item) in roster.Items.ToArray())
        {
            if (item.Ask is not null) Post(origin, NewPresence(bare, jid, "subscribe"));
        }
        if (priority < 0) return default;
        var offline = _module.Host.Events.FireAsync("message/offline/broadcast", new EventData(origin));
        return offline.IsCompletedSuccessfully ? default : new ValueTask(offline.AsTask());
    }

    /// <summary>Sends each available resource's presence (or <paramref name="replacement"/>) to <paramref name="to"/>; returns how many.</summary>
    private int SendPresenceOfAvailableResources(string user, string to, XmlElement? replacement = null)
    {
        int count = 0;
        if (_module.Server.Sessions.GetBare(user + "@" + _module.Host.Name) is not { } bare) return 0;
        foreach (var session in bare.Sessions.Values.ToArray())
        {
            if (session.Presence is not { } presence) continue;
            var pres = Addressed(replacement ?? presence, to, replacement is null ? null : session.FullJid!.ToString());
            Post(session, pres);
            count++;
        }
        return count;
    }

    private object? InboundBare(EventData e)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to");
        var type = stanza.GetAttribute("type");
        if (to is not null)
        {
            if (type is not (null or "unavailable" or "error")) return InboundSubscription(e);
            if (_module.Server.Sessions.GetBare(to) is { } user)
            {
                foreach (var session in user.Sessions.Values)
                {
                    if (session.IsAvailable && !session.Unreachable) session.Send(stanza.Clone());
                }
            }
        }
        else if (type is null or "unavailable")
        {
            if (e.Origin is ClientSession client && client.FullJid is not null
                && HandleNormalPresence(client, stanza) is { } pending)
            {
                return AsyncHandler.Run(_module, e, () => pending);
            }
        }
        else
        {
            e.Origin?.Send(StanzaReply.Error(stanza, StanzaError.BadRequest("Invalid presence type")));
        }
        return true;
    }

    private object? InboundFull(EventData e)
    {
        var stanza = e.Stanza!;
        if (stanza.GetAttribute("type") is not (null or "unavailable" or "error")) return InboundSubscription(e);
        if (_module.Server.Sessions.GetFull(stanza.GetAttribute("to")!) is { } session) session.Send(stanza);
        return true;
    }

    /// <summary>Presence to the server itself: it is always available and always accepts subscriptions.</summary>
    private object? InboundHost(EventData e)
    {
        var stanza = e.Stanza!;
        var fromBare = BareOf(stanza.GetAttribute("from"));
        var host = _module.Host;
        switch (stanza.GetAttribute("type"))
        {
            case "probe":
                Post(host.Session, WithId(NewPresence(host.Name, fromBare), stanza), false);
                break;
            case "subscribe":
                Post(host.Session, WithId(NewPresence(host.Name, fromBare, "subscribed"), stanza), false);
                Post(host.Session, WithId(NewPresence(host.Name, fromBare), stanza), false);
                break;
        }
        return true;
    }

    private static XmlElement WithId(XmlElement presence, XmlElement original) => presence.SetAttribute("id", original.GetAttribute("id"));

    /// <summary>A session going away sends unavailable presence for it (RFC 6121 §4.5.2).</summary>
    private object? ResourceUnbind(EventData e)
    {
        if (e["session"] is not ClientSession session) return null;
        var error = e["error"] as string;
        if (session.IsAvailable)
        {
            var pres = NewPresence(null, null, "unavailable");
            if (error is not null) pres.AddChild("status").AddText("Disconnected: " + error);
            _module.Server.Router.Process(session, pres);
        }
        else if (session.Directed.Count > 0)
        {
            var pres = NewPresence(session.FullJid?.ToString(), null, "unavailable");
            if (error is not null) pres.AddChild("status").AddText("Disconnected: " + error);
            foreach (var jid in session.Directed.ToArray()) Post(session, Addressed(pres, jid));
            session.Directed.Clear();
        }
        return null;
    }

    internal static string? BareOf(string? jid)
    {
        if (jid is null || !JidParts.TrySplit(jid, out var node, out var domain, out _)) return null;
        return node is null ? domain : node + "@" + domain;
    }
}
