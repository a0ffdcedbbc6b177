using System.Net;
using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules.Native;
using LuaXmpp.Network;
using LuaXmpp.Sasl;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// The composition root of a running server: storage, the loop, hosts and their modules, the
/// Lua runtime, certificates and the c2s listeners; and the orderly shutdown of all of them.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly ServerConfig _config;
    private readonly ServerPaths _paths;
    private readonly List<ConnectionListener> _listeners = new();
    private readonly Logger _log = Logger.For("server");
    private StorageManager? _storage;
    private ServerLoop? _loop;
    private LuaRuntime? _lua;
    private CertificateSet? _certificates;
    private bool _stopped;

    public ServerHost(ServerConfig config, string configDirectory)
    {
        _config = config;
        _paths = ServerPaths.From(config, configDirectory);
    }

    public XmppServer? Server { get; private set; }

    public IReadOnlyList<ConnectionListener> Listeners => _listeners;

    public async Task StartAsync()
    {
        LogSetup.Configure(_config, _paths.ConfigDirectory);
        Directory.CreateDirectory(_paths.DataPath);
        _storage = new StorageManager(_config, _paths.DataPath);
        _loop = new ServerLoop();
        _loop.Start();
        var authProviders = new Dictionary<string, IAuthProvider>(StringComparer.Ordinal);
        var storage = _storage;
        IAuthProvider AuthFor(string host)
        {
            lock (authProviders)
            {
                if (!authProviders.TryGetValue(host, out var provider))
                    authProviders[host] = provider = AuthProviders.Create(host, _config, storage);
                return provider;
            }
        }
        var server = Server = new XmppServer(_config, _loop, _storage, AuthFor);
        NativeModules.RegisterAll(server.Modules);
        var catalog = ModuleCatalog.For(_config, _paths.ConfigDirectory);
        await _loop.InvokeAsync(() => ActivateHosts(server, catalog));
        _certificates = CertificateSet.Load(_config, _paths);
        StartListeners(server);
        await _loop.InvokeAsync(() => server.GlobalEvents.Fire("server-started", new EventData()));
        _log.Info($"LuaXmpp {server.Version} started");
    }

    private void ActivateHosts(XmppServer server, ModuleCatalog catalog)
    {
        _lua = new LuaRuntime(server, catalog.PluginPaths);
        server.Modules.Runtime = _lua;
        server.Sessions.ConflictPolicy = host => _config.GetString(host, "conflict_resolve") ?? "kick_old";
        foreach (var hostConfig in _config.Hosts)
        {
            if (!hostConfig.Enabled)
            {
                _log.Info($"Host {hostConfig.Name} is disabled in the config");
                continue;
            }
            var host = server.ActivateHost(hostConfig);
            var missing = server.Modules.LoadAll(host);
            if (missing.Count > 0) _log.Warn($"Modules not loaded on {host.Name}: {string.Join(", ", missing)}");
        }
    }

    private void StartListeners(XmppServer server)
    {
        var throttle = new AuthFailureThrottle(server.Loop.Time);
        var certificates = _certificates!;
        var timeout = _config.GetNumber(null, "c2s_timeout") ?? 300;
        var sendBuffer = MaxSendBufferBytes();
        var limits = new ConnectionLimits
        {
            MaxConnectionsPerIp = NetworkSetting("max_connections_per_ip", 0),
            MaxUnauthenticatedPerIp = NetworkSetting("max_unauthenticated_per_ip", ConnectionLimits.DefaultMaxUnauthenticatedPerIp),
            MaxUnauthenticated = NetworkSetting("max_unauthenticated", ConnectionLimits.DefaultMaxUnauthenticated),
        };
        ConnectionOptions Options(bool directTls) => new()
        {
            DirectTls = directTls,
            CertificateFor = certificates.For,
            UnauthenticatedTimeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : null,
            MaxSendBufferBytes = sendBuffer,
            Limits = limits,
        };
        IStreamHandler Handler(ClientConnection connection) => new ClientStreamHandler(server, connection, certificates.Has, throttle);

        var interfaces = _config.GetStringList(null, "c2s_interfaces") is { Count: > 0 } c2s ? c2s : _config.GetStringList(null, "interfaces");
        if (interfaces.Count == 0) interfaces = ["*"];
        var ports = _config.GetStringList(null, "c2s_ports") is { Count: > 0 } p ? p : ["5222"];
        var tlsPorts = _config.GetStringList(null, "c2s_direct_tls_ports");
        foreach (var address in interfaces)
        {
            foreach (var port in ports) Listen(address, port, Options(false), Handler);
            if (certificates.For(null) is null) continue;
            foreach (var port in tlsPorts) Listen(address, port, Options(true), Handler);
        }
    }

    // network_settings is where Prosody takes its net.server options from; max_send_buffer_size
    // (bytes) is the per-connection budget of unwritten output (see ConnectionOptions).
    private long MaxSendBufferBytes()
    {
        if (_config.Get(null, "network_settings") is not ConfigTable settings) return ConnectionOptions.DefaultMaxSendBufferBytes;
        var value = ConfigValues.AsNumber(settings["max_send_buffer_size"]);
        if (value is null) return ConnectionOptions.DefaultMaxSendBufferBytes;
        if (value < 1)
        {
            _log.Warn($"network_settings.max_send_buffer_size = {value} is not a positive byte count; using {ConnectionOptions.DefaultMaxSendBufferBytes}");
            return ConnectionOptions.DefaultMaxSendBufferBytes;
        }
        return (long)value;
    }

    // network_settings connection caps (see ConnectionLimits); 0 turns one off.
    private int NetworkSetting(string name, int fallback)
    {
        if (_config.Get(null, "network_settings") is not ConfigTable settings) return fallback;
        var value = ConfigValues.AsNumber(settings[name]);
        if (value is null) return fallback;
        if (value < 0 || value > int.MaxValue)
        {
            _log.Warn($"network_settings.{name} = {value} is not a count (0 for no limit); using {fallback}");
            return fallback;
        }
        return (int)value;
    }

    private void Listen(string address, string port, ConnectionOptions options, Func<ClientConnection, IStreamHandler> handler)
    {
        var ip = address switch
        {
            "*" => IPAddress.Any,
            "::" => IPAddress.IPv6Any,
            _ => IPAddress.Parse(address),
        };
        var listener = new ConnectionListener(new IPEndPoint(ip, int.Parse(port)), _loop!, options, handler);
        listener.Start();
        _listeners.Add(listener);
    }

    /// <summary>
    /// Stops accepting, tells modules (server-stopping: hibernating sessions are flushed to
    /// offline storage there), closes every session with system-shutdown and waits for them.
    /// </summary>
    public async Task StopAsync(string reason)
    {
        if (_stopped) return;
        _stopped = true;
        _log.Info("Shutting down: " + reason);
        foreach (var l in _listeners) await l.DisposeAsync();
        if (Server is { } server)
        {
            await server.Loop.InvokeAsync(() =>
            {
                var e = new EventData();
                e["reason"] = reason;
                server.GlobalEvents.Fire("server-stopping", e);
                foreach (var session in server.Sessions.All.ToArray())
                {
                    session.Close(StreamErrorCondition.SystemShutdown, reason);
                    server.Sessions.Destroy(session, reason);
                }
            });
            foreach (var l in _listeners) await l.DrainAsync(TimeSpan.FromSeconds(5));
            await server.Loop.InvokeAsync(() =>
            {
                server.GlobalEvents.Fire("server-stopped", new EventData());
                _lua?.Dispose();
            });
        }
        if (_loop is not null) await _loop.DisposeAsync();
        _storage?.Dispose();
        _certificates?.Dispose();
        _log.Info("Stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync("disposed");
}
