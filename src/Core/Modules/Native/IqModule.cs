using LuaXmpp.Events;
using LuaXmpp.Hosting;
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
        var events = module.Host.Events;
        if (type is "get" or "set" && stanza.FirstElement() is { } payload)
        {
            var key = payload.Namespace + ":" + payload.Name;
            return Settle(events.FireAsync("iq/" + kind + "/" + key, e), events, "iq-" + type + "/" + kind + "/" + key, e);
        }
        return Settle(events.FireAsync("iq-" + type + "/" + kind + "/" + stanza.GetAttribute("id"), e), events, null, e);
    }

    /// <summary>
    /// The payload events may wait (contract §0.8: mod_pep, mod_muc and ad-hoc commands read
    /// storage in their handlers, as in Prosody where they run in the session's runner): when
    /// one does, this handler returns a Task the iq chain waits for instead of holding the loop.
    /// When nothing waited the answer is synchronous and nothing is allocated.
    /// </summary>
    private static object? Settle(ValueTask<object?> first, EventBus events, string? fallback, EventData e)
    {
        if (!first.IsCompletedSuccessfully) return ThenAsync(first, events, fallback, e);
        if (first.Result is not null || fallback is null) return first.Result;
        var second = events.FireAsync(fallback, e);
        return second.IsCompletedSuccessfully ? second.Result : second.AsTask();
    }

    private static async Task<object?> ThenAsync(ValueTask<object?> first, EventBus events, string? fallback, EventData e)
    {
        var result = await first;
        if (result is not null || fallback is null) return result;
        return await events.FireAsync(fallback, e);
    }
}
