using LuaXmpp.Events;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_iq: delivers iq to full JIDs, and turns iq to a bare JID, the user's own account or the
/// host into the per-payload events "iq/&lt;kind&gt;/NS:NAME" then "iq-&lt;type&gt;/&lt;kind&gt;/NS:NAME"
/// (results and errors: "iq-&lt;type&gt;/&lt;kind&gt;/ID") that feature modules hook. Whatever is not
/// handled falls to the router, which answers get/set with service-unavailable (RFC 6120 §8.2.3).
/// </summary>
public sealed class IqModule : INativeModule
{
    public string Name => "iq";

    public void Load(ModuleContext module)
    {
        if (!module.Host.IsComponent) module.Hook("iq/full", e => ToFull(module, e));
        foreach (var kind in new[] { "bare", "self", "host" })
        {
            module.Hook("iq/" + kind, e => Dispatch(module, kind, e));
        }
    }

    /// <summary>RFC 6120 §10.5.4: an iq to an unavailable resource gets service-unavailable.</summary>
    private static object ToFull(ModuleContext module, EventData e)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to");
        if (to is not null && module.Server.Sessions.GetFull(to) is { Destroyed: false } session)
        {
            session.Send(stanza);
        }
        else if (stanza.GetAttribute("type") is "get" or "set")
        {
            e.Origin?.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
        }
        return true;
    }

    private static object? Dispatch(ModuleContext module, string kind, EventData e)
    {
        var stanza = e.Stanza!;
        var type = stanza.GetAttribute("type");
        if (type is "get" or "set" && stanza.FirstElement() is { } payload)
        {
            var key = payload.Namespace + ":" + payload.Name;
            return module.FireEvent("iq/" + kind + "/" + key, e) ?? module.FireEvent("iq-" + type + "/" + kind + "/" + key, e);
        }
        return module.FireEvent("iq-" + type + "/" + kind + "/" + stanza.GetAttribute("id"), e);
    }
}
