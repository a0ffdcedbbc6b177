using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosts;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;

namespace LuaXmpp.C2s;

/// <summary>
/// What a c2s stream uses of the server, and nothing more: the hosts it may serve, the config
/// (read at use, so a reload applies to new streams), the session registry, the router, each
/// host's auth provider (usermanager) and the clock. One instance serves every c2s connection,
/// BOSH and WebSocket ones included.
/// </summary>
public sealed class C2sServices(IHostDirectory hosts, IConfigManager config, SessionManager sessions,
    StanzaRouter router, Func<string, IAuthProvider> auth, TimeProvider time)
{
    public ServerConfig Config => config.Config;

    public SessionManager Sessions { get; } = sessions;

    public StanzaRouter Router { get; } = router;

    /// <summary>usermanager: the auth provider of a host.</summary>
    public Func<string, IAuthProvider> Auth { get; } = auth;

    public TimeProvider Time { get; } = time;

    public HostContext? FindHost(string name) => hosts.FindHost(name);
}
