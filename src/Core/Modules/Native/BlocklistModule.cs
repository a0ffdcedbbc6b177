using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_blocklist: XEP-0191 Blocking Command with Prosody 0.12's behaviour, in C# so that the
/// routing checks it puts on every message, presence and iq cost no Lua crossing. Same keyval
/// store ("blocklist", { [false] = { created, modified }, [jid] = true | time }) and the same
/// migration from mod_privacy's default list, so data moves freely between it and Prosody's file
/// (which wins when it is on plugin_paths: docs/BRIDGE.md, "Native modules").
/// </summary>
/// <remarks>
/// Blocklists of accounts with a bound resource stay in memory while they are online; others are
/// kept up to blocklist_cache_size (64, as Prosody). A check whose list is not in memory waits
/// for storage (the stanza's pass waits, as Prosody's synchronous storage does).
/// </remarks>
public sealed partial class BlocklistModule : INativeModule
{
    private const string Xmlns = "urn:xmpp:blocking";
    private const double PrioIn = 100, PrioOut = 100;

    // Prosody keeps a list's metadata under the key false (boxed once here).
    private static readonly object s_metadataKey = false;
    private readonly Dictionary<string, DataTable> _cache = new(StringComparer.Ordinal);
    private ModuleContext _module = null!;
    private IKeyValueStore _store = null!;
    private int _capacity;

    public string Name => "blocklist";

    public void Load(ModuleContext module)
    {
        _module = module;
        _store = module.OpenKeyValue("blocklist");
        _capacity = (int)Math.Max(1, module.GetOptionNumber("blocklist_cache_size", 64));
        module.AddFeature(Xmlns);
        module.Hook("iq-get/self/urn:xmpp:blocking:blocklist", GetBlocklist, -1);
        module.Hook("iq-set/self/urn:xmpp:blocking:block", EditBlocklist, -1);
        module.Hook("iq-set/self/urn:xmpp:blocking:unblock", EditBlocklist, -1);
        module.HookGlobal("user-deleted", e =>
        {
            if (e["host"] as string == module.Host.Name && e["username"] is string user) _cache.Remove(user);
            return null;
        });
        module.Hook("iq-error/self/blocklist-push", PushFailed);

        module.Hook("presence/bare", DropStanza, PrioIn);
        module.Hook("presence/full", DropStanza, PrioIn);
        module.Hook("message/bare", BounceMessage, PrioIn);
        module.Hook("message/full", BounceMessage, PrioIn);
        module.Hook("iq/bare", BounceIq, PrioIn);
        module.Hook("iq/full", BounceIq, PrioIn);
        foreach (var kind in new[] { "bare", "full", "host" })
        {
            module.Hook("pre-message/" + kind, BounceOutgoing, PrioOut);
            module.Hook("pre-iq/" + kind, BounceOutgoing, PrioOut);
        }
        module.Hook("pre-presence/bare", BounceOutgoing, -1);
        module.Hook("pre-presence/host", BounceOutgoing, -1);
        module.Hook("pre-presence/full", BounceOutgoing, PrioOut);
    }

    /// <summary>Prosody's is_blocked: the JID itself, its domain, or its bare JID is on the user's list.</summary>
    private static bool Blocks(DataTable list, string jid)
    {
        // Most users block nobody (their list holds at most Prosody's [false] metadata entry): no
        // JID split, no bare JID built for them.
        if (list.Count == 0 || (list.Count == 1 && list.ContainsKey(s_metadataKey))) return false;
        if (list.ContainsKey(jid)) return true;
        if (!JidParts.TrySplit(jid, out var node, out var domain, out _) || domain is null) return false;
        return list.ContainsKey(domain) || (node is not null && list.ContainsKey(node + "@" + domain));
    }

    // The load path of a decision: the user's list is not in memory yet (handlers decide from
    // _cache directly when it is).
    private async Task<object?> LoadThen(string user, Func<DataTable, object?> decide)
    {
        try
        {
            return decide(await ListOf(user));
        }
        catch (Exception ex)
        {
            // As a failed storage read in Prosody's routing: logged, the stanza goes on unblocked.
            _module.Log.Error($"Could not load the blocklist of {user}", ex);
            return null;
        }
    }

    private async Task<DataTable> ListOf(string user)
    {
        if (_cache.TryGetValue(user, out var cached)) return cached;
        var list = await _store.GetAsync(user) ?? await MigratePrivacyList(user)
            ?? new DataTable { [false] = new DataTable { ["created"] = Now() } };
        Remember(user, list);
        return list;
    }

    private void Remember(string user, DataTable list)
    {
        _cache[user] = list;
        if (_cache.Count <= _capacity) return;
        // Lists of online accounts stay; of the others, the oldest entries go first.
        foreach (var key in _cache.Keys.ToArray())
        {
            if (_cache.Count <= _capacity) break;
            if (key != user && _module.Server.Sessions.GetBare(key + "@" + _module.Host.Name) is null) _cache.Remove(key);
        }
    }

    private long Now() => _module.Server.Loop.Time.GetUtcNow().ToUnixTimeSeconds();

    // drop_stanza: a stanza from a JID the recipient blocks is dropped.
    private object? DropStanza(EventData e)
    {
        var stanza = e.Stanza!;
        if (stanza.GetAttribute("to") is not { } to || stanza.GetAttribute("from") is not { } from) return null;
        if (!JidParts.TrySplit(to, out var user, out _, out _) || user is null) return null;
        // A list in memory is decided here, without the closure the load path needs.
        if (_cache.TryGetValue(user, out var cached)) return Blocks(cached, from) ? true : null;
        return LoadThen(user, list => Blocks(list, from) ? true : null);
    }

    // bounce_stanza: as drop_stanza, but the sender gets service-unavailable.
    private object? BounceStanza(EventData e) => Then(DropStanza(e), dropped =>
    {
        if (dropped is null) return null;
        e.Origin?.Send(StanzaReply.Error(e.Stanza!, StanzaError.ServiceUnavailable()));
        return true;
    });

    private object? BounceIq(EventData e) =>
        e.Stanza!.GetAttribute("type") is "get" or "set" ? BounceStanza(e) : DropStanza(e);

    // Chat and normal messages bounce, unless addressed to an online full JID (Prosody issue #690);
    // headlines, groupchat and errors are dropped.
    private object? BounceMessage(EventData e)
    {
        var stanza = e.Stanza!;
        if (stanza.GetAttribute("type") is null or "chat" or "normal")
        {
            if (stanza.GetAttribute("to") is { } to && _module.Server.Sessions.GetFull(to) is not null) return DropStanza(e);
            return BounceStanza(e);
        }
        return DropStanza(e);
    }

    // drop_outgoing / bounce_outgoing: a user cannot send to a JID they block.
    private object? BounceOutgoing(EventData e)
    {
        var stanza = e.Stanza!;
        var user = (e.Origin as ClientSession)?.Username;
        if (user is null && stanza.GetAttribute("from") is { } from) JidParts.TrySplit(from, out user, out _, out _);
        if (user is null || stanza.GetAttribute("to") is not { } to) return null; // no 'to': to oneself
        var type = stanza.GetAttribute("type");
        bool silent = type == "error" || (stanza.Name == "iq" && type == "result");
        if (_cache.TryGetValue(user, out var cached)) return RefuseOutgoing(e, cached, to, silent);
        return LoadThen(user, list => RefuseOutgoing(e, list, to, silent));
    }

    private static object? RefuseOutgoing(EventData e, DataTable list, string to, bool silent)
    {
        if (!Blocks(list, to)) return null;
        if (!silent)
        {
            var reply = StanzaReply.Error(e.Stanza!, new StanzaError("cancel", "not-acceptable", "You have blocked this JID"));
            reply.FirstElement()!.AddChild("blocked", "urn:xmpp:blocking:errors");
            e.Origin?.Send(reply);
        }
        return true;
    }

    /// <summary>Applies <paramref name="next"/> to a handler result that may still be pending.</summary>
    private static object? Then(object? result, Func<object?, object?> next)
    {
        if (result is not Task<object?> task) return next(result);
        return Continue(task, next);

        static async Task<object?> Continue(Task<object?> task, Func<object?, object?> next) => next(await task);
    }

    private object? PushFailed(EventData e)
    {
        var error = e.Stanza!.Element("error");
        var condition = error?.FirstElement()?.Name;
        var text = error?.ChildText("text", Namespaces.Stanzas);
        (e.Origin?.Log ?? _module.Log).Warn($"Client returned an error in response to notification from mod_{Name}: {condition}{(text is null ? "" : ": " + text)}");
        return true;
    }
}
