using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Roster;
using LuaXmpp.Xml;
using RosterData = LuaXmpp.Roster.Roster;

namespace LuaXmpp.LuaBridge.Runtime;

// Rosters (Prosody's core/rostermanager.lua): the C# RosterManager owns every roster, once per
// account, shared by its resources. Lua sees a proxy table per roster (core/rostermanager.lua
// builds it): roster[jid] and roster[false] read the C# object on each access, assignments and
// the subscription transitions write to it, so there is no second copy that could go stale.
public sealed partial class LuaRuntime
{
    private readonly HandleTable<RosterData> _rosters = new();

    private void RegisterRosterNatives(NativeTable n)
    {
        // Prosody's bind_resource loads session.roster whichever module serves rosters (ours or
        // Prosody's mod_roster from plugin_paths), so binding always loads it.
        RosterManager.AttachToBinding(_server);
        n.Add("roster_load", RosterLoad);
        n.Add("roster_op", RosterOp);
        n.Add("roster_push", RosterPush);
        n.Add("roster_item", RosterItemNative);
        n.Add("roster_set_item", RosterSetItem);
        n.Add("roster_jids", RosterJids);
        n.Add("roster_meta", RosterMeta);
        n.Add("roster_release", l => { _rosters.Release(l.ToInteger(1)); return 0; });
    }

    private RosterData RequireRoster(Lua lua, int index) =>
        _rosters.Get(lua.ToInteger(index)) ?? throw new ArgumentException("roster is gone");

    /// <summary>Pushes the roster's proxy table (core.rostermanager's proxy(rid)), the same table while Lua holds it.</summary>
    private void PushRoster(Lua lua, RosterData roster)
    {
        PushProxy(lua, "roster_proxy", _rosters.IdOf(roster));
    }

    /// <summary>Pushes entry[constructor](id), under a protected call; nil if it raised.</summary>
    private void PushProxy(Lua lua, string constructor, long id)
    {
        using var scope = LuaStack.Enter(lua, 16);
        lua.PushRef(_call);
        lua.PushRef(_entry);
        lua.RawGetField(-1, constructor);
        lua.Remove(-2);
        lua.PushInteger(id);
        if (scope.PCall(2, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
        {
            _log.Error($"{constructor} failed: {lua.ToString(-1, false)}");
            scope.Reset();
            lua.PushNil();
            scope.Keep(1);
            return;
        }
        lua.Remove(-2);
        scope.Keep(1);
    }

    private RosterManager RostersOf(string? host) =>
        _server.FindHost(host ?? "") is { } h ? RosterManager.For(_server, h) : throw new ArgumentException("no such host: " + host);

    // roster_load(host, user, callback): callback(roster proxy) once loaded (at once if cached).
    private int RosterLoad(Lua lua)
    {
        var rosters = RostersOf(lua.OptString(1));
        var task = rosters.LoadAsync(lua.OptString(2) ?? "");
        Complete(lua, 3, task, (l, roster) => PushRoster(l, roster));
        return 0;
    }

    // roster_op(host, op, user, contact, callback[, stanza]): one subscription transition or test
    // of RosterManager; callback(result, extra...) when done.
    private int RosterOp(Lua lua)
    {
        var rosters = RostersOf(lua.OptString(1));
        var op = lua.OptString(2);
        var user = lua.OptString(3) ?? "";
        var contact = lua.OptString(4) ?? "";
        Task<bool> task = op switch
        {
            "is_contact_subscribed" => rosters.IsContactSubscribedAsync(user, contact),
            "is_user_subscribed" => rosters.IsUserSubscribedAsync(user, contact),
            "is_contact_pending_in" => rosters.IsPendingInAsync(user, contact),
            "is_contact_pending_out" => WithRoster(rosters, user, r => r.Get(contact)?.Ask is not null),
            "is_contact_preapproved" => rosters.IsPreApprovedAsync(user, contact),
            "set_contact_pending_in" => rosters.SetPendingInAsync(user, contact,
                _stanzas.IsStanza(lua, 6) ? _stanzas.Read(lua, 6) : new XmlElement("presence", Namespaces.Client)),
            "set_contact_pending_out" => rosters.SetPendingOutAsync(user, contact),
            "unsubscribe" => rosters.UnsubscribeAsync(user, contact),
            "subscribed" => rosters.SubscribedAsync(user, contact),
            "process_inbound_subscription_approval" => rosters.ProcessInboundApprovalAsync(user, contact),
            "process_inbound_subscription_cancellation" => rosters.ProcessInboundCancellationAsync(user, contact),
            "process_inbound_unsubscribe" => rosters.ProcessInboundUnsubscribeAsync(user, contact),
            "add" => WithRosterAsync(rosters, user, r => rosters.AddAsync(user, r, contact, ReadItem(lua, 6))),
            "remove" => WithRosterAsync(rosters, user, r => rosters.RemoveAsync(user, r, contact)),
            "save" => WithRosterAsync(rosters, user, r => rosters.SaveAsync(user, r, contact.Length == 0 ? null : contact)),
            "unsubscribed" => Unsubscribed(lua, rosters, user, contact),
            _ => throw new ArgumentException("unknown roster operation: " + op),
        };
        if (op != "unsubscribed") Complete(lua, 5, task, (l, ok) => l.PushBoolean(ok));
        return 0;
    }

    // Prosody's unsubscribed returns success, was-pending, was-subscribed.
    private Task<bool> Unsubscribed(Lua lua, RosterManager rosters, string user, string contact)
    {
        var task = rosters.UnsubscribedAsync(user, contact);
        Complete(lua, 5, task, (l, r) =>
        {
            l.PushBoolean(r.Saved);
            l.PushBoolean(r.WasPending);
            l.PushBoolean(r.WasSubscribed);
        });
        return Task.FromResult(true);
    }

    private static async Task<bool> WithRoster(RosterManager rosters, string user, Func<RosterData, bool> f) => f(await rosters.LoadAsync(user));

    private static async Task<bool> WithRosterAsync(RosterManager rosters, string user, Func<RosterData, Task<bool>> f) =>
        await f(await rosters.LoadAsync(user));

    private int RosterPush(Lua lua)
    {
        RostersOf(lua.OptString(1)).Push(lua.OptString(2) ?? "", lua.OptString(3) ?? "");
        return 0;
    }

    // roster_item(rid, jid) → a fresh item table {subscription, ask, name, approved, groups = set}, or nil.
    private int RosterItemNative(Lua lua)
    {
        var item = RequireRoster(lua, 1).Get(lua.OptString(2) ?? "");
        if (item is null)
        {
            lua.PushNil();
            return 1;
        }
        lua.CreateTable(0, 5);
        lua.PushString(item.Subscription);
        lua.RawSetField(-2, "subscription");
        SetOptional(lua, "ask", item.Ask);
        SetOptional(lua, "name", item.Name);
        SetOptional(lua, "approved", item.Approved);
        lua.CreateTable(0, item.Groups.Count);
        foreach (var group in item.Groups)
        {
            lua.PushBoolean(true);
            lua.RawSetField(-2, group);
        }
        lua.RawSetField(-2, "groups");
        return 1;
    }

    private static void SetOptional(Lua lua, string key, string? value)
    {
        if (value is null) return;
        lua.PushString(value);
        lua.RawSetField(-2, key);
    }

    // roster_set_item(rid, jid, item|nil): in memory only; saving is save_roster's job, as in Prosody.
    private int RosterSetItem(Lua lua)
    {
        var roster = RequireRoster(lua, 1);
        var jid = lua.OptString(2) ?? throw new ArgumentException("jid expected");
        if (lua.Type(3) == LuaType.Table) roster.Items[jid] = ReadItem(lua, 3);
        else roster.Items.Remove(jid);
        return 0;
    }

    private static RosterItem ReadItem(Lua lua, int index)
    {
        var item = new RosterItem();
        if (lua.Type(index) != LuaType.Table) return item;
        index = lua.AbsIndex(index);
        item.Subscription = Field(lua, index, "subscription") ?? "none";
        item.Ask = Field(lua, index, "ask");
        item.Name = Field(lua, index, "name");
        item.Approved = Field(lua, index, "approved");
        lua.GetField(index, "groups");
        if (lua.Type(-1) == LuaType.Table)
        {
            lua.PushNil();
            while (lua.Next(-2))
            {
                // Prosody keeps groups as a set (name → true); a list of names is accepted too.
                var name = lua.Type(-2) == LuaType.String ? lua.ToString(-2, false) : lua.Type(-1) == LuaType.String ? lua.ToString(-1, false) : null;
                if (name is not null && !item.Groups.Contains(name)) item.Groups.Add(name);
                lua.Pop(1);
            }
        }
        lua.Pop(1);
        return item;
    }

    private static string? Field(Lua lua, int index, string key)
    {
        lua.GetField(index, key);
        var value = lua.Type(-1) is LuaType.String or LuaType.Number ? lua.ToString(-1, false) : null;
        lua.Pop(1);
        return value;
    }

    private int RosterJids(Lua lua)
    {
        PushList(lua, RequireRoster(lua, 1).Items.Keys.ToArray(), lua.PushString);
        return 1;
    }

    // roster_meta(rid) → {version = n|true|nil, pending = {jid → stanza|true}}, fresh on each call.
    private int RosterMeta(Lua lua)
    {
        var roster = RequireRoster(lua, 1);
        lua.CreateTable(0, 2);
        switch (roster.Version)
        {
            case long v: lua.PushInteger(v); lua.RawSetField(-2, "version"); break;
            case true: lua.PushBoolean(true); lua.RawSetField(-2, "version"); break;
        }
        lua.CreateTable(0, roster.Pending.Count);
        foreach (var (jid, request) in roster.Pending)
        {
            if (request is XmlElement stanza) _stanzas.Push(lua, stanza);
            else lua.PushBoolean(true);
            lua.RawSetField(-2, jid);
        }
        lua.RawSetField(-2, "pending");
        return 1;
    }

    /// <summary>
    /// Calls the Lua function at <paramref name="callbackIndex"/> with the task's result once it
    /// completes (at once if it already has); on failure with nil and the error message.
    /// </summary>
    private void Complete<T>(Lua lua, int callbackIndex, Task<T> task, Action<Lua, T> push)
    {
        if (lua.Type(callbackIndex) != LuaType.Function) throw new ArgumentException("callback expected");
        lua.PushCopy(callbackIndex);
        var callback = new LuaRef(lua.PopRef());
        if (task.IsCompleted) CallBack(lua, callback, task, push);
        else task.ContinueWith(t => _server.Loop.Post(() => CallBack(_main, callback, t, push)), TaskScheduler.Default);
    }

    private void CallBack<T>(Lua lua, LuaRef callback, Task<T> task, Action<Lua, T> push)
    {
        if (_disposed || callback.IsReleased) return;
        var scope = LuaStack.Enter(lua);
        try
        {
            lua.PushRef(_call);
            lua.PushRef(callback);
            int before = lua.GetTop();
            if (task.IsCompletedSuccessfully)
            {
                push(lua, task.Result);
            }
            else
            {
                lua.PushNil();
                lua.PushString(task.Exception?.GetBaseException().Message ?? "cancelled");
            }
            int args = lua.GetTop() - before;
            if (scope.PCall(1 + args, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
                _log.Error("rostermanager callback failed: " + lua.ToString(-1, false));
        }
        finally
        {
            scope.Dispose();
            lua.Release(callback);
        }
    }
}
