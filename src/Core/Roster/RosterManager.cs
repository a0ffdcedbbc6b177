using System.Runtime.CompilerServices;
using LuaXmpp.Accounts;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Roster;

/// <summary>
/// Prosody's core/rostermanager.lua for one host: loads rosters (once per account while it is
/// online, from a small cache otherwise), saves them in Prosody's format, sends roster pushes
/// (RFC 6121 §2.1.6) and implements the subscription state changes of RFC 6121 §3 and
/// Appendix A in <see cref="RosterManager"/>.Subscriptions.
/// </summary>
/// <remarks>
/// Loop-thread only. A roster is one shared mutable object: all resources, and all concurrent
/// operations on an offline user's roster, see the same instance (the cache holds the load task,
/// so two loads in flight do not produce two copies). Changes happen in memory synchronously and
/// each is then saved; storage calls are awaited, so with a driver that completes synchronously
/// everything runs in stanza order.
/// </remarks>
public sealed partial class RosterManager
{
    private const int CacheSize = 1024;
    private static readonly ConditionalWeakTable<HostContext, RosterManager> PerHost = new();
    private static readonly ConditionalWeakTable<SessionManager, object> Attached = new();

    private readonly SessionManager _sessions;
    private readonly IStorageManager _storage;
    private readonly Func<string, IAuthProvider> _auth;
    private readonly HostContext _host;
    private readonly Dictionary<string, Task<Roster>> _cache = new(StringComparer.Ordinal);
    private readonly Queue<string> _cacheOrder = new();
    private readonly Logger _log;
    private long _pushId;

    private RosterManager(SessionManager sessions, IStorageManager storage, Func<string, IAuthProvider> auth, HostContext host)
    {
        _sessions = sessions;
        _storage = storage;
        _auth = auth;
        _host = host;
        _log = Logger.For(host.Name + ":rostermanager");
    }

    public string Host => _host.Name;

    /// <summary>
    /// The host's roster manager (one per host, created on first use). Of the <c>prosody</c>
    /// global it keeps only the session registry (bare_sessions), storagemanager and usermanager.
    /// </summary>
    public static RosterManager For(IProsody prosody, HostContext host) =>
        PerHost.GetValue(host, h => new RosterManager(prosody.Sessions, prosody.Storage, prosody.Auth, h));

    /// <summary>
    /// Makes resource binding load the account's roster first, as Prosody's bind_resource does.
    /// Idempotent: the preparer is registered once per server.
    /// </summary>
    public static void AttachToBinding(IProsody prosody)
    {
        if (Attached.TryGetValue(prosody.Sessions, out _)) return;
        Attached.Add(prosody.Sessions, new object());
        prosody.Sessions.BindPreparers.Add(async (session, bare) =>
        {
            if (session.Username is null || prosody.FindHost(session.Host) is not { } host) return;
            if (bare.Roster is not Roster) bare.Roster = await For(prosody, host).LoadAsync(session.Username);
            // Prosody's session.roster: the session keeps its roster after the account's last resource unbinds.
            session.Roster = bare.Roster;
        });
    }

    /// <summary>The roster a bound session uses (session.roster), null before bind.</summary>
    public static Roster? Of(Session session) => (session as ClientSession)?.Roster as Roster;

    /// <summary>The roster an online account has loaded, without touching storage.</summary>
    public Roster? Online(string user) => _sessions.GetBare(user + "@" + Host)?.Roster as Roster;

    /// <summary>Loads a user's roster (rostermanager.load_roster).</summary>
    public Task<Roster> LoadAsync(string user)
    {
        if (Online(user) is { } online) return Task.FromResult(online);
        if (_cache.TryGetValue(user, out var cached)) return Attach(user, cached);
        var task = LoadFromStorageAsync(user);
        Remember(user, task);
        return Attach(user, task);
    }

    /// <summary>Drops a cached roster (the account was deleted).</summary>
    public void Forget(string user) => _cache.Remove(user);

    /// <summary>
    /// Saves a change (rostermanager.save_roster): bumps the version, then writes one contact
    /// and the metadata through the map store, or the whole roster when <paramref name="jid"/>
    /// is null. False when the user does not exist, the roster is broken or storage failed.
    /// </summary>
    public async Task<bool> SaveAsync(string user, Roster roster, string? jid)
    {
        if (!await _auth(Host).UserExistsAsync(user))
        {
            _log.Debug($"Not saving roster for {user}@{Host}: no such user");
            return false;
        }
        roster.BumpVersion();
        if (roster.Broken) return false;
        try
        {
            if (jid is null)
            {
                await _storage.OpenKeyValue(Host, "roster").SetAsync(user, RosterCodec.Encode(roster));
            }
            else
            {
                var item = roster.Get(jid);
                var keys = new Dictionary<object, object?>
                {
                    [false] = RosterCodec.EncodeMetadata(roster),
                    [jid] = item is null ? null : RosterCodec.EncodeItem(item),
                };
                await _storage.OpenMap(Host, "roster").SetKeysAsync(user, keys);
            }
            return true;
        }
        catch (Exception ex)
        {
            _log.Error($"Unable to save roster of {user}@{Host}", ex);
            return false;
        }
    }

    /// <summary>
    /// Sends a roster push for one contact to every resource that asked for the roster
    /// (RFC 6121 §2.1.6); subscription "remove" when the contact is gone.
    /// </summary>
    public void Push(string user, string jid)
    {
        if (_sessions.GetBare(user + "@" + Host) is not { Roster: Roster roster } bare) return;
        var iq = new XmlElement("iq", Namespaces.Client);
        iq.SetAttribute("type", "set");
        iq.SetAttribute("id", "push" + (++_pushId).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var query = iq.AddChild("query", Namespaces.Roster);
        query.SetAttribute("ver", roster.Version is true ? "true" : roster.VersionString);
        var item = roster.Get(jid);
        query.AddChild(item is null ? RemovedItem(jid) : ItemElement(jid, item));
        foreach (var session in bare.Sessions.Values)
        {
            if (session.Interested) session.Send(iq.Clone());
        }
    }

    /// <summary>The &lt;item/&gt; of a roster result or push (RFC 6121 §2.1.2).</summary>
    public static XmlElement ItemElement(string jid, RosterItem item)
    {
        var e = new XmlElement("item", Namespaces.Roster);
        e.SetAttribute("jid", jid);
        e.SetAttribute("subscription", item.Subscription);
        e.SetAttribute("name", item.Name);
        e.SetAttribute("ask", item.Ask);
        foreach (var group in item.Groups) e.AddChild("group").AddText(group);
        return e;
    }

    private static XmlElement RemovedItem(string jid)
    {
        var e = new XmlElement("item", Namespaces.Roster);
        e.SetAttribute("jid", jid);
        e.SetAttribute("subscription", "remove");
        return e;
    }

    private async Task<Roster> Attach(string user, Task<Roster> load)
    {
        var roster = await load;
        // A resource may have bound while the roster loaded: it must share this instance.
        if (_sessions.GetBare(user + "@" + Host) is { } bare)
        {
            if (bare.Roster is Roster existing) return existing;
            bare.Roster = roster;
        }
        return roster;
    }

    private void Remember(string user, Task<Roster> task)
    {
        _cache[user] = task;
        _cacheOrder.Enqueue(user);
        while (_cacheOrder.Count > CacheSize)
        {
            var old = _cacheOrder.Dequeue();
            if (_cache.TryGetValue(old, out var t) && t.IsCompleted && !_cacheOrder.Contains(old)) _cache.Remove(old);
        }
    }

    private async Task<Roster> LoadFromStorageAsync(string user)
    {
        Roster roster;
        try
        {
            roster = RosterCodec.Decode(await _storage.OpenKeyValue(Host, "roster").GetAsync(user));
        }
        catch (Exception ex)
        {
            _log.Error($"Unable to load roster of {user}@{Host}", ex);
            _cache.Remove(user);
            return new Roster { Broken = true };
        }
        var self = user + "@" + Host;
        if (roster.Items.Remove(self))
        {
            _log.Debug($"Roster of {self} had a self-contact; removing it");
            await SaveAsync(user, roster, self);
        }
        var e = new EventData();
        e["username"] = user;
        e["host"] = Host;
        e["roster"] = roster;
        // Handlers (mod_groups-like) may wait: the roster is handed out once they are done.
        await _host.Events.FireAsync("roster-load", e);
        return roster;
    }
}
