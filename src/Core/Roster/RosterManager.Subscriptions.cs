using LuaXmpp.Xml;

namespace LuaXmpp.Roster;

// The subscription state machine of RFC 6121 §3 and Appendix A, one method per transition,
// each true when the roster changed and was saved (then the caller pushes it).
public sealed partial class RosterManager
{
    /// <summary>The contact gets the user's presence (subscription from/both), RFC 6121 §3.1.</summary>
    public async Task<bool> IsContactSubscribedAsync(string user, string contact)
    {
        if (OnlineSubscription(user + "@" + Host, contact, out var mine)) return mine is "from" or "both";
        if (OnlineSubscription(contact, user + "@" + Host, out var theirs)) return theirs is "to" or "both";
        var roster = await LoadAsync(user);
        return roster.Get(contact)?.SendsPresenceTo ?? false;
    }

    /// <summary>The user gets the contact's presence (subscription to/both).</summary>
    public async Task<bool> IsUserSubscribedAsync(string user, string contact)
    {
        if (OnlineSubscription(user + "@" + Host, contact, out var mine)) return mine is "to" or "both";
        if (OnlineSubscription(contact, user + "@" + Host, out var theirs)) return theirs is "from" or "both";
        var roster = await LoadAsync(user);
        return roster.Get(contact)?.ReceivesPresenceFrom ?? false;
    }

    public async Task<bool> IsPendingInAsync(string user, string contact) => (await LoadAsync(user)).Pending.ContainsKey(contact);

    public async Task<bool> IsPreApprovedAsync(string user, string contact) => (await LoadAsync(user)).Get(contact)?.Approved == "true";

    /// <summary>Stores an inbound request to show again later, unless the contact is subscribed already.</summary>
    public async Task<bool> SetPendingInAsync(string user, string contact, XmlElement request)
    {
        var roster = await LoadAsync(user);
        if (roster.Get(contact)?.SendsPresenceTo == true) return false;
        roster.Pending[contact] = request.Clone();
        return await SaveAsync(user, roster, contact);
    }

    /// <summary>The user sent subscribe: ask="subscribe" (RFC 6121 §3.1.2). True also when nothing needed changing.</summary>
    public async Task<bool> SetPendingOutAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        var item = roster.Get(contact);
        if (item is not null && (item.Ask is not null || item.ReceivesPresenceFrom)) return true;
        if (item is null) roster.Items[contact] = item = new RosterItem();
        item.Ask = "subscribe";
        return await SaveAsync(user, roster, contact);
    }

    /// <summary>The user sent unsubscribe (RFC 6121 §3.3.2).</summary>
    public async Task<bool> UnsubscribeAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        if (roster.Get(contact) is not { } item) return false;
        if (item.Subscription is "from" or "none" && item.Ask is null) return true;
        item.Ask = null;
        item.Subscription = item.Subscription switch { "both" => "from", "to" => "none", var s => s };
        return await SaveAsync(user, roster, contact);
    }

    /// <summary>The user approved (subscribed), or pre-approved when no request is pending (RFC 6121 §3.4).</summary>
    public async Task<bool> SubscribedAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        var item = roster.Get(contact);
        if (roster.Pending.ContainsKey(contact))
        {
            if (item is null) roster.Items[contact] = item = new RosterItem();
            item.Subscription = item.Subscription == "none" ? "from" : "both";
            roster.Pending.Remove(contact);
            return await SaveAsync(user, roster, contact);
        }
        if (item is null || item.Subscription is "none" or "to")
        {
            if (item is null) roster.Items[contact] = item = new RosterItem();
            item.Approved = "true";
            return await SaveAsync(user, roster, contact);
        }
        return false;
    }

    /// <summary>The user denied or cancelled the contact's subscription (RFC 6121 §3.2, §3.5).</summary>
    public async Task<(bool Saved, bool WasPending, bool WasSubscribed)> UnsubscribedAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        bool pending = roster.Pending.Remove(contact);
        bool subscribed = false;
        if (roster.Get(contact) is { } item && item.SendsPresenceTo)
        {
            item.Subscription = item.Subscription == "both" ? "to" : "none";
            subscribed = true;
        }
        bool saved = (pending || subscribed) && await SaveAsync(user, roster, contact);
        return (saved, pending, subscribed);
    }

    /// <summary>The contact approved the user's request (RFC 6121 §3.1.5).</summary>
    public async Task<bool> ProcessInboundApprovalAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        if (roster.Get(contact) is not { Ask: not null } item) return false;
        item.Subscription = item.Subscription == "none" ? "to" : "both";
        item.Ask = null;
        return await SaveAsync(user, roster, contact);
    }

    /// <summary>The contact cancelled or denied the user's subscription (RFC 6121 §3.2.3).</summary>
    public async Task<bool> ProcessInboundCancellationAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        if (roster.Get(contact) is not { } item) return false;
        bool changed = item.Ask is not null;
        item.Ask = null;
        if (item.Subscription is "to" or "both")
        {
            item.Subscription = item.Subscription == "both" ? "from" : "none";
            changed = true;
        }
        return changed && await SaveAsync(user, roster, contact);
    }

    /// <summary>The contact unsubscribed from the user's presence (RFC 6121 §3.3.3).</summary>
    public async Task<bool> ProcessInboundUnsubscribeAsync(string user, string contact)
    {
        var roster = await LoadAsync(user);
        bool changed = roster.Pending.Remove(contact);
        if (roster.Get(contact) is { } item && item.SendsPresenceTo)
        {
            item.Subscription = item.Subscription == "both" ? "to" : "none";
            changed = true;
        }
        return changed && await SaveAsync(user, roster, contact);
    }

    /// <summary>Adds or replaces a contact (roster set).</summary>
    public Task<bool> AddAsync(string user, Roster roster, string contact, RosterItem item)
    {
        roster.Items[contact] = item;
        return SaveAsync(user, roster, contact);
    }

    public Task<bool> RemoveAsync(string user, Roster roster, string contact)
    {
        roster.Items.Remove(contact);
        return SaveAsync(user, roster, contact);
    }

    /// <summary>Prosody's shortcut: when either side is online its loaded roster answers without storage.</summary>
    private bool OnlineSubscription(string ownerBare, string contactBare, out string? subscription)
    {
        subscription = null;
        if (_sessions.GetBare(ownerBare) is not { Roster: Roster roster }) return false;
        subscription = roster.Get(contactBare)?.Subscription ?? "none";
        return true;
    }
}
