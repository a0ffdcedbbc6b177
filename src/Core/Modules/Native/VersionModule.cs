using System.Runtime.InteropServices;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Xml;

namespace LuaXmpp.Modules.Native;

/// <summary>mod_version: XEP-0092 software version of the server (name "LuaXmpp"; the OS unless hide_os_type).</summary>
public sealed class VersionModule : INativeModule
{
    private XmlElement _query = null!;

    public string Name => "version";

    public void Load(ModuleContext module)
    {
        module.AddFeature("jabber:iq:version");
        _query = new XmlElement("query", "jabber:iq:version");
        _query.AddTextChild("name", "LuaXmpp");
        _query.AddTextChild("version", module.Server.Version);
        if (!module.GetOptionBoolean("hide_os_type", false)) _query.AddTextChild("os", OperatingSystemName());
        module.Hook("iq-get/host/jabber:iq:version:query", Version);
    }

    /// <summary>The kernel name, as Prosody reports uname's sysname.</summary>
    private static string OperatingSystemName()
    {
        if (OperatingSystem.IsLinux()) return "Linux";
        if (OperatingSystem.IsWindows()) return "Windows";
        if (OperatingSystem.IsMacOS()) return "Darwin";
        if (OperatingSystem.IsFreeBSD()) return "FreeBSD";
        return RuntimeInformation.OSDescription;
    }

    private object? Version(EventData e)
    {
        var reply = StanzaReply.Result(e.Stanza!);
        reply.AddChild(_query.Clone());
        e.Origin?.Send(reply);
        return true;
    }
}
