using System.Globalization;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;

namespace LuaXmpp.Modules.Native;

/// <summary>mod_uptime: XEP-0012 last activity of the server itself, i.e. seconds since start (§5).</summary>
public sealed class UptimeModule : INativeModule
{
    private ModuleContext _module = null!;

    public string Name => "uptime";

    public void Load(ModuleContext module)
    {
        _module = module;
        module.AddFeature("jabber:iq:last");
        module.Hook("iq-get/host/jabber:iq:last:query", Uptime);
    }

    private object? Uptime(EventData e)
    {
        var seconds = (long)(_module.Server.Loop.Time.GetUtcNow() - _module.Server.StartTime).TotalSeconds;
        var reply = StanzaReply.Result(e.Stanza!);
        reply.AddChild("query", "jabber:iq:last").SetAttribute("seconds", Math.Max(0, seconds).ToString(CultureInfo.InvariantCulture));
        e.Origin?.Send(reply);
        return true;
    }
}
