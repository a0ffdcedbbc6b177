using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Roster;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_disco: XEP-0030 service discovery for the host (identities, features and extensions that
/// modules add as host items, child components, disco_items) and for accounts (XEP-0030 §3 on a
/// bare JID, answered for the account itself and its subscribed contacts), plus the XEP-0115
/// server caps stream feature. Node queries go to the *-disco-*-node events, as in Prosody.
/// </summary>
public sealed class DiscoModule : INativeModule
{
    /// <summary>COMPAT: the caps node Prosody advertises, so the node-equals-caps check behaves the same.</summary>
    private const string CapsNode = "http://prosody.im";

    private ModuleContext _module = null!;
    private XmlElement? _cachedInfo;
    private string? _cachedHash;

    public string Name => "disco";

    public void Load(ModuleContext module)
    {
        _module = module;
        if (!module.Host.IsComponent) module.AddIdentity("server", "im", module.GetOptionString("name", "LuaXmpp"));
        module.AddFeature(Namespaces.DiscoInfo);
        module.AddFeature(Namespaces.DiscoItems);
        foreach (var kind in new[] { "item-added", "item-removed" })
        {
            foreach (var key in new[] { "identity", "feature", "extension" }) module.Hook(kind + "/" + key, ClearCache);
        }
        module.Hook("iq-get/host/" + Namespaces.DiscoInfo + ":query", HostInfo);
        module.Hook("iq-get/host/" + Namespaces.DiscoItems + ":query", HostItems);
        module.Hook("stream-features", AddCapsFeature);
        if (module.Host.IsComponent) return;
        module.Hook("iq-get/bare/" + Namespaces.DiscoInfo + ":query", e => Account(e, true));
        module.Hook("iq-get/bare/" + Namespaces.DiscoItems + ":query", e => Account(e, false));
    }

    private object? ClearCache(EventData e)
    {
        _cachedInfo = null;
        _cachedHash = null;
        return null;
    }

    /// <summary>The host's disco#info query: identities, then features, then extensions, each once.</summary>
    private XmlElement ServerInfo()
    {
        if (_cachedInfo is not null) return _cachedInfo;
        var query = new XmlElement("query", Namespaces.DiscoInfo);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in _module.Host.Items.Get("identity"))
        {
            if (item is not DiscoIdentity identity || !done.Add(identity.Category + "\0" + identity.Type)) continue;
            var e = query.AddChild("identity");
            e.SetAttribute("category", identity.Category);
            e.SetAttribute("type", identity.Type);
            e.SetAttribute("name", identity.Name);
        }
        foreach (var item in _module.Host.Items.Get("feature"))
        {
            if (item is string feature && done.Add(feature)) query.AddChild("feature").SetAttribute("var", feature);
        }
        var extensions = new HashSet<XmlElement>(ReferenceEqualityComparer.Instance);
        foreach (var item in _module.Host.Items.Get("extension"))
        {
            if (item is XmlElement extension && extensions.Add(extension)) query.AddChild(extension.Clone());
        }
        _cachedHash = CapsHash.Compute(query);
        return _cachedInfo = query;
    }

    private string ServerCapsHash()
    {
        ServerInfo();
        return _cachedHash!;
    }

    private object? AddCapsFeature(EventData e)
    {
        if (e.Origin?.Type is not ("c2s" or "c2s_unbound") || e["features"] is not XmlElement features) return null;
        var c = features.AddChild("c", "http://jabber.org/protocol/caps");
        c.SetAttribute("hash", "sha-1");
        c.SetAttribute("node", CapsNode);
        c.SetAttribute("ver", ServerCapsHash());
        return null;
    }

    private object? HostInfo(EventData e)
    {
        var stanza = e.Stanza!;
        var node = stanza.FirstElement()!.GetAttribute("node");
        if (!string.IsNullOrEmpty(node) && node != CapsNode + "#" + ServerCapsHash())
        {
            return NodeQuery(e, "host-disco-info-node", Namespaces.DiscoInfo, node);
        }
        var query = ServerInfo().Clone();
        query.SetAttribute("node", node);
        var reply = StanzaReply.Result(stanza);
        reply.AddChild(query);
        e.Origin!.Send(reply);
        return true;
    }

    private object? HostItems(EventData e)
    {
        var stanza = e.Stanza!;
        var node = stanza.FirstElement()!.GetAttribute("node");
        if (!string.IsNullOrEmpty(node)) return NodeQuery(e, "host-disco-items-node", Namespaces.DiscoItems, node);
        var reply = StanzaReply.Result(stanza);
        var query = reply.AddChild("query", Namespaces.DiscoItems);
        var itemsEvent = new EventData(e.Origin, stanza);
        itemsEvent["reply"] = new StanzaBuilder(reply, query);
        // Handlers add items and may wait first (contract §0.8): the reply goes out after them.
        var fired = _module.FireEventAsync("host-disco-items", itemsEvent);
        if (!fired.IsCompletedSuccessfully) return ThenAsync(fired, () => SendHostItems(e, reply, query));
        return fired.Result ?? SendHostItems(e, reply, query);
    }

    /// <summary>What follows a chain that waited: the chain's result if a handler took it, else the rest.</summary>
    private static async Task<object?> ThenAsync(ValueTask<object?> fired, Func<object?> rest) => await fired ?? rest();

    private object SendHostItems(EventData e, XmlElement reply, XmlElement query)
    {
        // Child hosts (components such as conference.example.com) are listed, as hostmanager.get_children does.
        foreach (var host in _module.Server.Hosts.Values)
        {
            if (host.Name.EndsWith("." + _module.Host.Name, StringComparison.Ordinal)) AddItem(query, host.Name, null);
        }
        if (_module.GetOption("disco_items") is ConfigTable configured)
        {
            foreach (var entry in configured.Array)
            {
                if (entry is ConfigTable t && t[1L] is string jid) AddItem(query, jid, t[2L] as string);
            }
        }
        e.Origin!.Send(reply);
        return true;
    }

    private static void AddItem(XmlElement query, string jid, string? name)
    {
        var item = query.AddChild("item");
        item.SetAttribute("jid", jid);
        item.SetAttribute("name", name);
    }

    /// <summary>Fires the node event; sends its reply if a handler marked the node as existing, else item-not-found.</summary>
    private object NodeQuery(EventData e, string eventName, string ns, string node)
    {
        var stanza = e.Stanza!;
        var reply = StanzaReply.Result(stanza);
        var query = reply.AddChild("query", ns);
        query.SetAttribute("node", node);
        if (eventName.StartsWith("account", StringComparison.Ordinal) && reply.GetAttribute("from") is null && e.Origin is ClientSession c)
        {
            reply.SetAttribute("from", c.BareJid?.ToString());
        }
        var nodeEvent = new EventData(e.Origin, stanza);
        nodeEvent["reply"] = new StanzaBuilder(reply, query);
        nodeEvent["node"] = node;
        nodeEvent["exists"] = false;
        var fired = _module.FireEventAsync(eventName, nodeEvent);
        if (!fired.IsCompletedSuccessfully) return ThenAsync(fired, () => SendNodeReply(e, nodeEvent, reply));
        return fired.Result ?? SendNodeReply(e, nodeEvent, reply);
    }

    private static object SendNodeReply(EventData e, EventData nodeEvent, XmlElement reply)
    {
        e.Origin!.Send(nodeEvent["exists"] is true ? reply : StanzaReply.Error(e.Stanza!, StanzaError.ItemNotFound("Node does not exist")));
        return true;
    }

    /// <summary>Disco on an account: for the account itself, or contacts subscribed to its presence.</summary>
    private object? Account(EventData e, bool info)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to");
        if (to is null) return AccountReply(e, info);
        return AsyncHandler.Run(_module, e, async () =>
        {
            var user = to.Split('@')[0];
            var fromBare = PresenceModule.BareOf(stanza.GetAttribute("from"));
            bool allowed = (info && _module.GetOptionBoolean("disco_expose_admins", false) && IsAdmin(to))
                || (fromBare is not null && await RosterManager.For(_module.Server, _module.Host).IsContactSubscribedAsync(user, fromBare));
            if (allowed)
            {
                if (AccountReply(e, info) is Task<object?> replying) await replying;
            }
            else e.Origin?.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
        });
    }

    private object? AccountReply(EventData e, bool info)
    {
        var stanza = e.Stanza!;
        var node = stanza.FirstElement()!.GetAttribute("node");
        var ns = info ? Namespaces.DiscoInfo : Namespaces.DiscoItems;
        if (!string.IsNullOrEmpty(node)) return NodeQuery(e, info ? "account-disco-info-node" : "account-disco-items-node", ns, node);
        var reply = StanzaReply.Result(stanza);
        // COMPAT: Prosody sets 'from' on replies about the user's own account (for Psi).
        if (reply.GetAttribute("from") is null && e.Origin is ClientSession c) reply.SetAttribute("from", c.BareJid?.ToString());
        var query = reply.AddChild("query", ns);
        var account = new EventData(e.Origin, stanza);
        account["reply"] = new StanzaBuilder(reply, query);
        if (info)
        {
            var identity = query.AddChild("identity");
            identity.SetAttribute("category", "account");
            identity.SetAttribute("type", AccountType(stanza.GetAttribute("to") ?? (e.Origin as ClientSession)?.BareJid?.ToString()));
        }
        // Handlers (mod_pep, mod_mam) add features and may wait first: the reply goes out after them.
        var fired = _module.FireEventAsync(info ? "account-disco-info" : "account-disco-items", account);
        if (!fired.IsCompletedSuccessfully) return ThenAsync(IgnoreResult(fired), () => SendReply(e, reply));
        return SendReply(e, reply);
    }

    private static object SendReply(EventData e, XmlElement reply)
    {
        e.Origin!.Send(reply);
        return true;
    }

    // account-disco-* handlers only add to the reply; what they return does not stop it (as in Prosody).
    private static async ValueTask<object?> IgnoreResult(ValueTask<object?> fired)
    {
        await fired;
        return null;
    }

    private string AccountType(string? jid)
    {
        if (jid is not null && IsAdmin(jid)) return "admin";
        return _module.Server.Auth(_module.Host.Name).Name == "anonymous" ? "anonymous" : "registered";
    }

    private bool IsAdmin(string jid)
    {
        var bare = PresenceModule.BareOf(jid);
        return bare is not null && _module.Server.Config.GetStringList(_module.Host.Name, "admins").Contains(bare);
    }
}
