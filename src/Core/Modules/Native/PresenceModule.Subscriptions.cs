using LuaXmpp.Events;
using LuaXmpp.Roster;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

// Subscription handling (RFC 6121 §3, Appendix A) and directed presence (§4.6).
public sealed partial class PresenceModule
{
    /// <summary>"pre-presence/*": presence a local user sends to someone.</summary>
    private object? Outbound(EventData e)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to");
        if (to is null) return null;
        var type = stanza.GetAttribute("type");
        if (type is not (null or "unavailable" or "error"))
        {
            var fromBare = BareOf(stanza.GetAttribute("from"));
            var toBare = BareOf(to);
            // Probes pass on unchanged; nobody subscribes to themselves.
            if (type == "probe" || fromBare is null || toBare is null || fromBare == toBare) return null;
            var request = Addressed(stanza, toBare, fromBare);
            return AsyncHandler.Run(_module, e, () => OutboundSubscriptionAsync(e.Origin!, request, fromBare, toBare));
        }
        TrackDirected(e.Origin, to, type);
        return null;
    }

    /// <summary>RFC 6121 §4.6: remember presence sent outside the roster, to retract it on unavailable.</summary>
    private static void TrackDirected(Session? origin, string to, string? type)
    {
        if (origin is not ClientSession client || RosterManager.Of(client) is not { } roster) return;
        if (roster.Get(BareOf(to)!)?.SendsPresenceTo == true) return;
        if (type is null) client.Directed.Add(to);
        else client.Directed.Remove(to);
    }

    private async Task OutboundSubscriptionAsync(Session origin, XmlElement stanza, string fromBare, string toBare)
    {
        var user = fromBare.Split('@')[0];
        switch (stanza.GetAttribute("type"))
        {
            case "subscribe":
                if (await _rosters.SetPendingOutAsync(user, toBare)) _rosters.Push(user, toBare);
                Post(origin, stanza, false);
                break;
            case "unsubscribe":
                if (await _rosters.UnsubscribeAsync(user, toBare)) _rosters.Push(user, toBare);
                Post(origin, stanza, false);
                break;
            case "subscribed":
                if (await _rosters.SubscribedAsync(user, toBare)) _rosters.Push(user, toBare);
                if (await _rosters.IsContactSubscribedAsync(user, toBare))
                {
                    Post(origin, stanza, false);
                    SendPresenceOfAvailableResources(user, toBare);
                }
                if (await _rosters.IsUserSubscribedAsync(user, toBare)) Post(origin, NewPresence(fromBare, toBare, "probe"), false);
                break;
            case "unsubscribed":
                var (saved, _, wasSubscribed) = await _rosters.UnsubscribedAsync(user, toBare);
                if (!saved) break;
                if (wasSubscribed) _rosters.Push(user, toBare);
                Post(origin, stanza, false);
                if (wasSubscribed) SendPresenceOfAvailableResources(user, toBare, NewPresence(null, null, "unavailable"));
                break;
            default:
                origin.Send(StanzaReply.Error(stanza, StanzaError.BadRequest("Invalid presence type")));
                break;
        }
    }

    /// <summary>Subscription stanzas and probes arriving for a local user.</summary>
    private object? InboundSubscription(EventData e)
    {
        var stanza = e.Stanza!;
        var fromBare = BareOf(stanza.GetAttribute("from"));
        var toBare = BareOf(stanza.GetAttribute("to"));
        if (fromBare is null || toBare is null) return true;
        var originalFrom = stanza.GetAttribute("from")!;
        var request = Addressed(stanza, toBare, fromBare);
        return AsyncHandler.Run(_module, e, () => InboundSubscriptionAsync(e.Origin!, request, originalFrom, fromBare, toBare));
    }

    private async Task InboundSubscriptionAsync(Session origin, XmlElement stanza, string originalFrom, string fromBare, string toBare)
    {
        var user = toBare.Split('@')[0];
        var host = _module.Host.Session;
        switch (stanza.GetAttribute("type"))
        {
            case "probe":
                // RFC 6121 §4.3.2: subscribed contacts get current presence, or unavailable.
                if (await _rosters.IsContactSubscribedAsync(user, fromBare))
                {
                    if (SendPresenceOfAvailableResources(user, originalFrom) == 0) Post(host, NewPresence(toBare, originalFrom, "unavailable"));
                }
                else Post(host, NewPresence(toBare, fromBare, "unsubscribed"));
                break;
            case "subscribe":
                await InboundSubscribeAsync(user, stanza, fromBare, toBare);
                break;
            case "unsubscribe":
                if (await _rosters.ProcessInboundUnsubscribeAsync(user, fromBare)) NotifyInterested(user, stanza, fromBare);
                break;
            case "subscribed":
                if (await _rosters.ProcessInboundApprovalAsync(user, fromBare)) NotifyInterested(user, stanza, fromBare);
                break;
            case "unsubscribed":
                if (await _rosters.ProcessInboundCancellationAsync(user, fromBare)) NotifyInterested(user, stanza, fromBare);
                break;
            default:
                origin.Send(StanzaReply.Error(stanza, StanzaError.BadRequest("Invalid presence type")));
                break;
        }
    }

    /// <summary>RFC 6121 §3.1.3: answer at once if subscribed or pre-approved, else store and show the request.</summary>
    private async Task InboundSubscribeAsync(string user, XmlElement stanza, string fromBare, string toBare)
    {
        var host = _module.Host.Session;
        if (await _rosters.IsContactSubscribedAsync(user, fromBare))
        {
            Post(host, NewPresence(toBare, fromBare, "subscribed"));
            if (SendPresenceOfAvailableResources(user, fromBare) == 0) Post(host, NewPresence(toBare, fromBare, "unavailable"));
        }
        else if (await _rosters.IsPreApprovedAsync(user, fromBare))
        {
            if (!await _rosters.IsPendingInAsync(user, fromBare) && await _rosters.SetPendingInAsync(user, fromBare, stanza))
            {
                Post(host, NewPresence(toBare, fromBare, "subscribed"));
            }
        }
        else
        {
            // Acknowledges receipt without revealing presence.
            Post(host, NewPresence(toBare, fromBare, "unavailable"));
            if (!await _rosters.IsPendingInAsync(user, fromBare) && await _rosters.SetPendingInAsync(user, fromBare, stanza))
            {
                SendToResources(user, stanza, s => s.IsAvailable);
            }
        }
    }

    private void NotifyInterested(string user, XmlElement stanza, string contact)
    {
        SendToResources(user, stanza, s => s.Interested);
        _rosters.Push(user, contact);
    }

    private void SendToResources(string user, XmlElement stanza, Func<ClientSession, bool> wanted)
    {
        if (_module.Server.Sessions.GetBare(user + "@" + _module.Host.Name) is not { } bare) return;
        foreach (var session in bare.Sessions.Values)
        {
            if (wanted(session)) session.Send(stanza.Clone());
        }
    }

    /// <summary>
    /// "roster-item-removed": removing a contact cancels both directions (RFC 6121 §2.5.2):
    /// unsubscribed if they were subscribed to us (or asked), unsubscribe if we were to them.
    /// </summary>
    private object? RosterItemRemoved(EventData e)
    {
        if (e["username"] is not string username || e["jid"] is not string jid) return null;
        var origin = e.Origin ?? _module.Host.Session;
        var item = e["item"] as RosterItem;
        var roster = e["roster"] as Roster.Roster ?? RosterManager.Of(origin);
        var from = (origin as ClientSession)?.FullJid?.ToString() ?? username + "@" + _module.Host.Name;
        var subscription = item?.Subscription ?? "none";
        bool pending = roster?.Pending.ContainsKey(jid) ?? false;
        if (subscription is "both" or "from" || pending) Post(origin, NewPresence(from, jid, "unsubscribed"), false);
        if (subscription is "both" or "to" || item?.Ask is not null)
        {
            SendPresenceOfAvailableResources(username, jid, NewPresence(null, null, "unavailable"));
            Post(origin, NewPresence(from, jid, "unsubscribe"), false);
        }
        return null;
    }
}
