using LuaXmpp.Events;
using LuaXmpp.Roster;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

// XEP-0191 §3.1 (get the list), §3.2 (block), §3.3 (unblock, one or all), with pushes to the
// resources that asked for the list, and Prosody 0.12's side effects on presence and rosters.
public sealed partial class BlocklistModule
{
    private object? GetBlocklist(EventData e)
    {
        if (e.Origin is not ClientSession { Username: { } user } origin) return null;
        return AsyncHandler.Run(_module, e, async () =>
        {
            var list = await ListOf(user);
            var reply = StanzaReply.Result(e.Stanza!);
            var items = reply.AddChild("blocklist", Xmlns);
            foreach (var key in list.Keys)
            {
                if (key is string jid) items.AddChild("item", Xmlns).SetAttribute("jid", jid);
            }
            origin.Fields["interested_blocklist"] = true; // gets the pushes (§3.4)
            origin.Send(reply);
        });
    }

    private object? EditBlocklist(EventData e)
    {
        if (e.Origin is not ClientSession { Username: { } user } origin) return null;
        return AsyncHandler.Run(_module, e, () => EditAsync(origin, user, e.Stanza!));
    }

    private async Task EditAsync(ClientSession origin, string user, XmlElement stanza)
    {
        long now = Now();
        var action = stanza.FirstElement()!;
        bool blocking = action.Name == "block";
        var rosters = RosterManager.For(_module.Server, _module.Host);
        var changed = new List<string>();
        var sendUnavailable = new List<string>();
        var sendAvailable = new List<string>();
        var removePending = new List<string>();
        foreach (var item in action.Elements("item", Xmlns))
        {
            if (!Jid.TryParse(item.GetAttribute("jid"), out var parsed))
            {
                origin.Send(StanzaReply.Error(stanza, StanzaError.JidMalformed()));
                return;
            }
            var jid = parsed.ToString();
            item.SetAttribute("jid", jid); // the push echoes the prepared JID
            if (changed.Contains(jid)) continue;
            changed.Add(jid);
            if (await rosters.IsContactSubscribedAsync(user, jid))
            {
                (blocking ? sendUnavailable : sendAvailable).Add(jid);
            }
            else if (blocking && await rosters.IsPendingInAsync(user, jid))
            {
                removePending.Add(jid); // blocking also stops the user from answering the request
            }
        }
        if (blocking && changed.Count == 0)
        {
            origin.Send(StanzaReply.Error(stanza, StanzaError.BadRequest()));
            return;
        }

        var old = await ListOf(user);
        var meta = old.GetValueOrDefault(false) as DataTable ?? new DataTable { ["created"] = now };
        if (old.ContainsKey(false)) meta["modified"] = now;
        var next = new DataTable { [false] = meta };
        if (blocking || changed.Count > 0)
        {
            foreach (var (key, value) in old)
            {
                if (key is string) next[key] = value;
            }
            foreach (var jid in changed)
            {
                if (blocking) next[jid] = now;
                else next.Remove(jid);
            }
        }
        // else: <unblock/> without items empties the list.
        try
        {
            await _store.SetAsync(user, next);
        }
        catch (Exception ex)
        {
            origin.Send(StanzaReply.Error(stanza, StanzaError.InternalServerError(ex.Message)));
            return;
        }
        Remember(user, next);
        origin.Send(StanzaReply.Result(stanza));
        await SideEffectsAsync(user, blocking, old, sendUnavailable, sendAvailable, removePending, rosters);
        Push(user, action);
    }

    private async Task SideEffectsAsync(string user, bool blocking, DataTable old, List<string> sendUnavailable,
        List<string> sendAvailable, List<string> removePending, RosterManager rosters)
    {
        var bare = _module.Server.Sessions.GetBare(user + "@" + _module.Host.Name);
        if (blocking)
        {
            // XEP-0191 §3.2: a newly blocked contact that had the user's presence gets unavailable.
            foreach (var jid in sendUnavailable)
            {
                if (old.ContainsKey(jid) || bare is null) continue;
                foreach (var session in bare.Sessions.Values)
                {
                    if (!session.IsAvailable || session.FullJid is null) continue;
                    var presence = new XmlElement("presence", Namespaces.Client);
                    presence.SetAttribute("type", "unavailable").SetAttribute("to", jid).SetAttribute("from", session.FullJid.ToString());
                    _module.Send(presence);
                }
            }
            if (removePending.Count > 0)
            {
                var roster = await rosters.LoadAsync(user);
                foreach (var jid in removePending) roster.Pending.Remove(jid);
                await rosters.SaveAsync(user, roster, null);
            }
        }
        else
        {
            // An unblocked contact with a subscription learns the user's presence again (a probe on its behalf).
            foreach (var jid in sendAvailable)
            {
                var probe = new XmlElement("presence", Namespaces.Client);
                probe.SetAttribute("type", "probe").SetAttribute("to", user + "@" + _module.Host.Name).SetAttribute("from", jid);
                _module.Send(probe);
            }
        }
    }

    // XEP-0191 §3.4: every resource that asked for the list gets the change.
    private void Push(string user, XmlElement action)
    {
        var bare = _module.Server.Sessions.GetBare(user + "@" + _module.Host.Name);
        if (bare is null) return;
        foreach (var session in bare.Sessions.Values)
        {
            if (session.FullJid is null || session.Fields.GetValueOrDefault("interested_blocklist") is not true) continue;
            var push = new XmlElement("iq", Namespaces.Client);
            push.SetAttribute("type", "set").SetAttribute("id", "blocklist-push").SetAttribute("to", session.FullJid.ToString());
            push.AddChild(action.Clone());
            session.Send(push);
        }
    }

    /// <summary>Prosody's migration: the deny-JID items of mod_privacy's default list become the blocklist (saved).</summary>
    private async Task<DataTable?> MigratePrivacyList(string user)
    {
        var legacy = await _module.OpenKeyValue("privacy").GetAsync(user);
        if (legacy?.GetTable("lists") is not { } lists || legacy.GetValueOrDefault("default") is not { } name) return null;
        if ((lists.GetValueOrDefault(name) as DataTable)?.GetTable("items") is not { } items) return null;
        var migrated = new DataTable { [false] = new DataTable { ["created"] = Now(), ["migrated"] = "privacy" } };
        _module.Log.Info($"Migrating blocklist from mod_privacy storage for user '{user}'");
        foreach (var value in items.Values)
        {
            if (value is not DataTable item || item.GetString("type") != "jid" || item.GetString("action") != "deny") continue;
            if (Jid.TryParse(item.GetString("value"), out var jid)) migrated[jid.ToString()] = true;
            else _module.Log.Warn($"Invalid JID in privacy store for user '{user}' not migrated: {item.GetString("value")}");
        }
        await _store.SetAsync(user, migrated);
        return migrated;
    }
}
