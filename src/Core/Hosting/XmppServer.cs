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
/// The running server's state, shared by everything on the loop (Prosody's <c>prosody</c>
/// global): config, hosts, sessions, router, storage, auth and modules. Only the composition
/// (src/Host) names it: everything in Core and LuaBridge takes <see cref="IProsody"/> or the narrow
/// parts they use (<see cref="IHostDirectory"/>, <see cref="IConfigManager"/>, the session
/// registry, the router).
/// </summary>
public sealed class XmppServer : IProsody
{
    private readonly Dictionary<string, HostContext> _hosts = new(StringComparer.Ordinal);

    public XmppServer(ServerConfig config, ServerLoop loop, IStorageManager storage, Func<string, IAuthProvider> auth)
    {
        Config = config;
        Loop = loop;
        Storage = storage;
        Auth = auth;
        GlobalEvents = new EventBus("*");
        Sessions = new SessionManager(FindHost);
        Router = new StanzaRouter(FindHost, Sessions);
        Modules = new ModuleManager(this);
        StartTime = loop.Time.GetUtcNow();
    }

    /// <summary>The config; replaced on the loop when a reload (SIGHUP) has read a new one.</summary>
    public ServerConfig Config { get; set; }

    public ServerLoop Loop { get; }

    public IStorageManager Storage { get; }

    /// <summary>The auth provider of a host.</summary>
    public Func<string, IAuthProvider> Auth { get; }

    /// <summary>prosody.events.</summary>
    public EventBus GlobalEvents { get; }

    public SessionManager Sessions { get; }

    public StanzaRouter Router { get; }

    public ModuleManager Modules { get; }

    public DateTimeOffset StartTime { get; }

    public string Version => typeof(XmppServer).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public IReadOnlyDictionary<string, HostContext> Hosts => _hosts;

    public HostContext? FindHost(string name) => _hosts.GetValueOrDefault(name);

    /// <summary>Activates a host (Prosody's hostmanager.activate): creates it and fires host-activated.</summary>
    public HostContext ActivateHost(HostConfig config)
    {
        var host = new HostContext(config);
        _hosts[config.Name] = host;
        var e = new EventData();
        e["host"] = config.Name;
        GlobalEvents.Fire("host-activated", e);
        return host;
    }
}
