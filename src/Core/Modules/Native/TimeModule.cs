using System.Globalization;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;

namespace LuaXmpp.Modules.Native;

/// <summary>mod_time: XEP-0202 entity time (always UTC, as Prosody) and the legacy XEP-0090 jabber:iq:time.</summary>
public sealed class TimeModule : INativeModule
{
    private ModuleContext _module = null!;

    public string Name => "time";

    public void Load(ModuleContext module)
    {
        _module = module;
        module.AddFeature("urn:xmpp:time");
        module.Hook("iq-get/bare/urn:xmpp:time:time", Time);
        module.Hook("iq-get/host/urn:xmpp:time:time", Time);
        module.AddFeature("jabber:iq:time");
        module.Hook("iq-get/bare/jabber:iq:time:query", LegacyTime);
        module.Hook("iq-get/host/jabber:iq:time:query", LegacyTime);
    }

    private DateTime Now => _module.Server.Loop.Time.GetUtcNow().UtcDateTime;

    private object? Time(EventData e)
    {
        var reply = StanzaReply.Result(e.Stanza!);
        var time = reply.AddChild("time", "urn:xmpp:time");
        time.AddTextChild("tzo", "+00:00");
        time.AddTextChild("utc", Now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        e.Origin?.Send(reply);
        return true;
    }

    private object? LegacyTime(EventData e)
    {
        var reply = StanzaReply.Result(e.Stanza!);
        reply.AddChild("query", "jabber:iq:time").AddTextChild("utc", Now.ToString("yyyyMMdd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        e.Origin?.Send(reply);
        return true;
    }
}
