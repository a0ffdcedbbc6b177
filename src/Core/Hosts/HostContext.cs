using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Hosts;

/// <summary>One VirtualHost or Component that is up (Prosody's <c>hosts[name]</c>): its events, items and modules.</summary>
public sealed class HostContext
{
    public HostContext(HostConfig config)
    {
        Config = config;
        Events = new EventBus(config.Name);
        Session = new HostSession(config.Name);
        Items = new HostItems(Events);
    }

    public string Name => Config.Name;

    public HostConfig Config { get; }

    /// <summary>host.events.</summary>
    public EventBus Events { get; }

    /// <summary>The host as a stanza origin.</summary>
    public HostSession Session { get; }

    /// <summary>Items modules add (features, identities, extensions, ...).</summary>
    public HostItems Items { get; }

    public bool IsComponent => Config.Kind == HostKind.Component;
}
