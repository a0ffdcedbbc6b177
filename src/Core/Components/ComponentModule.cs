using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Components;

/// <summary>
/// mod_component: on a Component host without a module of its own, every stanza for the domain
/// (to the domain itself, a bare or a full JID at it) goes to the connected external component
/// (XEP-0114); while none is connected, requests are bounced with remote-server-timeout, as
/// Prosody does. Runs last (priority -1), so modules loaded on the host see stanzas first.
/// </summary>
public sealed class ComponentModule(ComponentRegistry registry) : INativeModule
{
    private static readonly string[] Events =
        ["iq/bare", "message/bare", "presence/bare", "iq/full", "message/full", "presence/full", "iq/host", "message/host", "presence/host"];

    public string Name => "component";

    public void Load(ModuleContext module)
    {
        // As Prosody: mod_component serves a Component section, never a VirtualHost (it would
        // take every stanza for the host).
        if (!module.Host.IsComponent)
            throw new InvalidOperationException("mod_component is loaded by a Component section, not through modules_enabled");
        var host = module.Host.Name;
        foreach (var name in Events) module.Hook(name, e => Forward(host, e), -1);
    }

    private object? Forward(string host, EventData e)
    {
        var stanza = e.Stanza!;
        if (registry.Find(host) is { } component)
        {
            component.Send(stanza);
            return true;
        }
        var type = stanza.GetAttribute("type");
        if (type is not ("error" or "result"))
        {
            e.Origin?.Log.Debug($"Component {host} not connected, bouncing {stanza.Name}");
            e.Origin?.Send(StanzaReply.Error(stanza, new StanzaError("wait", "remote-server-timeout", "Component unavailable")));
        }
        return true;
    }
}
