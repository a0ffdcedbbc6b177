using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Loop;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;

namespace LuaXmpp.Hosting;

/// <summary>
/// Prosody's <c>prosody</c> global as modules see it: the hosts, the config, the session registry
/// (full_sessions, bare_sessions), the router, storagemanager, usermanager, prosody.events, the
/// module manager, start_time and version. The module manager, native modules
/// (<see cref="ModuleContext.Server"/>) and the Lua bridge take this; the protocol handlers
/// (c2s, components, s2s) and rostermanager take only the parts they use.
/// <see cref="XmppServer"/> implements it.
/// </summary>
public interface IProsody : IHostDirectory, IConfigManager
{
    ServerLoop Loop { get; }

    /// <summary>storagemanager.</summary>
    IStorageManager Storage { get; }

    /// <summary>usermanager: the auth provider of a host.</summary>
    Func<string, IAuthProvider> Auth { get; }

    /// <summary>prosody.events.</summary>
    EventBus GlobalEvents { get; }

    /// <summary>sessionmanager: full_sessions and bare_sessions.</summary>
    SessionManager Sessions { get; }

    /// <summary>core_process_stanza, core_post_stanza, core_route_stanza.</summary>
    StanzaRouter Router { get; }

    /// <summary>modulemanager.</summary>
    ModuleManager Modules { get; }

    /// <summary>prosody.start_time.</summary>
    DateTimeOffset StartTime { get; }

    /// <summary>prosody.version.</summary>
    string Version { get; }
}
