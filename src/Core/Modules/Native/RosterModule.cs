using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Roster;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_roster: roster get with versioning (RFC 6121 §2.1.3, §2.6), roster set to add, update
/// and remove contacts (§2.3–2.5) with pushes to interested resources, and the rosterver
/// stream feature. Storage is Prosody's "roster" keyval store, through <see cref="RosterManager"/>.
/// </summary>
public sealed class RosterModule : INativeModule
{
    private ModuleContext _module = null!;
    private RosterManager _rosters = null!;

    public string Name => "roster";

    public void Load(ModuleContext module)
    {
        _module = module;
        _rosters = RosterManager.For(module.Server, module.Host);
        RosterManager.AttachToBinding(module.Server);
        module.AddFeature(Namespaces.Roster);
        module.Hook("stream-features", AddVersioningFeature);
        module.Hook("iq/self/jabber:iq:roster:query", HandleRosterIq);
        module.HookGlobal("user-deleted", UserDeleted, 300);
    }

    private object? AddVersioningFeature(EventData e)
    {
        if (e.Origin is ClientSession { Username: not null } && e["features"] is XmlElement features)
        {
            features.AddChild("ver", Namespaces.RosterVersioning);
        }
        return null;
    }

    private object? HandleRosterIq(EventData e)
    {
        if (e.Origin is not ClientSession session || e.Stanza is not { } stanza) return null;
        if (RosterManager.Of(session) is not { } roster)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.NotAuthorized("Session's roster not loaded")));
            return true;
        }
        if (stanza.GetAttribute("type") == "get")
        {
            SendRoster(session, stanza, roster);
            return true;
        }
        return AsyncHandler.Run(_module, e, () => SetAsync(session, stanza, roster));
    }

    /// <summary>RFC 6121 §2.6.3: an empty result when the client's version is current.</summary>
    private static void SendRoster(ClientSession session, XmlElement stanza, Roster.Roster roster)
    {
        var reply = StanzaReply.Result(stanza);
        long? serverVersion = roster.Version switch { long v => v, null => 1, _ => null };
        bool current = long.TryParse(stanza.FirstElement()!.GetAttribute("ver"), out var clientVersion) && clientVersion == serverVersion;
        if (!current)
        {
            var query = reply.AddChild("query", Namespaces.Roster);
            foreach (var (jid, item) in roster.Items) query.AddChild(RosterManager.ItemElement(jid, item));
            query.SetAttribute("ver", serverVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        session.Send(reply);
        session.Interested = true;
    }

    private async Task SetAsync(ClientSession session, XmlElement stanza, Roster.Roster roster)
    {
        var query = stanza.FirstElement()!;
        var items = query.Elements().ToArray();
        if (items.Length != 1 || items[0] is not { Name: "item", Namespace: Namespaces.Roster } item || item.GetAttribute("jid") is not { } rawJid)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.BadRequest()));
            return;
        }
        if (!Jid.TryParse(rawJid, out var contact) || contact.IsFull)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.BadRequest()));
            return;
        }
        var user = session.Username!;
        var jid = contact.ToString();
        if (jid == session.BareJid!.ToString())
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.NotAllowed()));
            return;
        }
        bool ok = item.GetAttribute("subscription") == "remove"
            ? await RemoveAsync(session, stanza, roster, user, jid)
            : await AddAsync(session, stanza, roster, user, jid, item);
        if (ok)
        {
            session.Send(StanzaReply.Result(stanza));
            _rosters.Push(user, jid);
        }
    }

    /// <summary>RFC 6121 §2.4: name and groups come from the client; subscription state stays the server's.</summary>
    private static RosterItem UpdatedItem(Roster.Roster roster, string jid, XmlElement item)
    {
        var existing = roster.Get(jid);
        var updated = new RosterItem
        {
            Name = item.GetAttribute("name") is { Length: > 0 } name ? name : null,
            Subscription = existing?.Subscription ?? "none",
            Ask = existing?.Ask,
            Approved = existing?.Approved,
        };
        foreach (var group in item.Elements("group", Namespaces.Roster))
        {
            if (!updated.Groups.Contains(group.Text)) updated.Groups.Add(group.Text);
        }
        return updated;
    }

    private async Task<bool> AddAsync(ClientSession session, XmlElement stanza, Roster.Roster roster, string user, string jid, XmlElement item)
    {
        var previous = roster.Get(jid);
        if (await _rosters.AddAsync(user, roster, jid, UpdatedItem(roster, jid, item))) return true;
        if (previous is null) roster.Items.Remove(jid);
        else roster.Items[jid] = previous;
        session.Send(StanzaReply.Error(stanza, StanzaError.InternalServerError("Unable to save roster")));
        return false;
    }

    private async Task<bool> RemoveAsync(ClientSession session, XmlElement stanza, Roster.Roster roster, string user, string jid)
    {
        if (roster.Get(jid) is not { } existing)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.ItemNotFound()));
            return false;
        }
        _module.FireEvent("roster-item-removed", RemovedEvent(session, user, jid, existing, roster));
        if (await _rosters.RemoveAsync(user, roster, jid)) return true;
        roster.Items[jid] = existing;
        session.Send(StanzaReply.Error(stanza, StanzaError.InternalServerError("Unable to save roster")));
        return false;
    }

    private static EventData RemovedEvent(Session origin, string user, string jid, RosterItem? item, Roster.Roster roster)
    {
        var e = new EventData(origin);
        e["username"] = user;
        e["jid"] = jid;
        e["item"] = item;
        e["roster"] = roster;
        return e;
    }

    /// <summary>A deleted account cancels its subscriptions both ways (the contacts' rosters update).</summary>
    private object? UserDeleted(EventData e)
    {
        if (e["host"] as string != _module.Host.Name || e["username"] is not string user) return null;
        var origin = e.Origin ?? e["session"] as Session ?? _module.Host.Session;
        _ = NotifyRemovalAsync(origin, user);
        return null;
    }

    private async Task NotifyRemovalAsync(Session origin, string user)
    {
        try
        {
            var roster = await _rosters.LoadAsync(user);
            foreach (var (jid, item) in roster.Items.ToArray()) _module.FireEvent("roster-item-removed", RemovedEvent(origin, user, jid, item, roster));
            foreach (var jid in roster.Pending.Keys.ToArray()) _module.FireEvent("roster-item-removed", RemovedEvent(origin, user, jid, null, roster));
            _rosters.Forget(user);
        }
        catch (Exception ex)
        {
            _module.Log.Error($"Could not cancel subscriptions of deleted user {user}", ex);
        }
    }
}
