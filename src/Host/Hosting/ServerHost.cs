using System.Net.Sockets;
using LuaXmpp.Accounts;
using LuaXmpp.C2s;
using LuaXmpp.Components;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Host.Http;
using LuaXmpp.Host.Http.Bosh;
using LuaXmpp.Hosting;
using LuaXmpp.Host.Cli;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Configuration;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules.Native;
using LuaXmpp.Network;
using LuaXmpp.S2s;
using LuaXmpp.Sasl;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// The composition root of a running server: storage, the loop, hosts and their modules, the
/// Lua runtime, certificates and the c2s listeners; the reload SIGHUP asks for; and the
/// orderly shutdown of all of them.
/// </summary>
public sealed partial class ServerHost : IAsyncDisposable
{
    private readonly ServerPaths _paths;
    private readonly List<ConnectionListener> _listeners = new();
    private readonly Logger _log = Logger.For("server");
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private ServerConfig _config;
    private StorageManager? _storage;
    private ServerLoop? _loop;
    private LuaRuntime? _lua;
    private CertificateSet? _certificates;
    private string? _pidFile;
    private Admin.AdminSocket? _adminSocket;
    private HttpListenerHost? _http;
    private readonly ComponentRegistry _components = new();
    private S2sService? _s2s;
    private bool _webSocketWanted;
    private bool _boshWanted;
    // One auth throttle for every c2s transport (TCP, direct TLS, WebSocket): failures on one
    // count against the account and address on all of them.
    private AuthFailureThrottle? _authThrottle;
    // The c2s listeners' admission caps, shared with WebSocket and BOSH sessions.
    private ConnectionLimits? _c2sLimits;
    private bool _stopped;
    private volatile bool _started;
    private Gen0Governor? _gen0;

    public ServerHost(ServerConfig config, string configDirectory)
    {
        _config = config;
        _paths = ServerPaths.From(config, configDirectory);
    }

    public XmppServer? Server { get; private set; }

    public IReadOnlyList<ConnectionListener> Listeners => _listeners;

    /// <summary>Asked for by server:shutdown() in the admin shell; the run command stops the host.</summary>
    public event Action<string>? ShutdownRequested;

    /// <summary>Starts everything; an operator mistake ends it with an <see cref="OperatorException"/>.</summary>
    public async Task StartAsync()
    {
        var errors = new List<OperatorError>();
        var endpoints = Preflight.Listeners(_config, errors);
        Preflight.Certificates(_config, _paths, errors);
        ThrowFirst(errors);
        Privileges.Drop(_config);
        LogSetup.Configure(_config, _paths.ConfigDirectory);
        Preflight.DataPath(_paths, errors);
        ThrowFirst(errors);

        _gen0 = Gen0Governor.Start();
        _storage = new StorageManager(_config, _paths.DataPath);
        _loop = new ServerLoop();
        _loop.Start();
        var server = Server = new XmppServer(_config, _loop, _storage, AuthProvidersFor(_storage));
        NativeModules.RegisterAll(server.Modules);
        server.Modules.RegisterNative("component", () => new ComponentModule(_components));
        server.Modules.RegisterNative("websocket", () => new WebSocketModule(() => _webSocketWanted = true));
        server.Modules.RegisterNative("bosh", () => new BoshModule(() => _boshWanted = true));
        var catalog = ModuleCatalog.For(_config, _paths.ConfigDirectory);
        // The loads are awaited before any listener opens; while one waits (storage, SQL) the
        // loop goes on with everything else.
        await _loop.InvokeAsync(() => ActivateHostsAsync(server, catalog));
        _certificates = CertificateSet.Load(_config, _paths);
        StartListeners(server, endpoints);
        StartComponentListeners(server);
        await StartS2sAsync(server);
        await StartHttpAsync(_loop, _lua!, _certificates);
        // After the listeners: a second server on the same ports is refused naming the port.
        _pidFile = PidFile.PathFor(_config, _paths);
        PidFile.Write(_pidFile);
        StartAdminSocket(server);
        await _loop.InvokeAsync(() => server.GlobalEvents.Fire("server-started", new EventData()));
        _started = true;
        Prewarm.Start(line => _log.Debug(line));
        _log.Info($"LuaXmpp {server.Version} started (PID {Environment.ProcessId})");
        SystemdNotify.Send($"READY=1\nMAINPID={Environment.ProcessId}\nSTATUS=Serving {string.Join(", ", server.Hosts.Keys)}");
    }

    // Prosody opens its admin socket when mod_admin_shell is enabled; so do we.
    private void StartAdminSocket(XmppServer server)
    {
        if (!_config.GetStringList(null, "modules_enabled").Contains("admin_shell")) return;
        var path = ShellCommand.AdminSocketPath(_config, _paths);
        try
        {
            _adminSocket = new Admin.AdminSocket(path, new Admin.ShellCommands(server, reason => ShutdownRequested?.Invoke(reason), pattern => _lua?.StatsLines(pattern), () => _s2s));
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            throw new OperatorException(new($"admin_socket: cannot listen on {path}: {e.Message}", ExitCodes.Unusable));
        }
    }

    private static void ThrowFirst(List<OperatorError> errors)
    {
        if (errors.Count > 0) throw new OperatorException(errors[0]);
    }

    private Func<string, IAuthProvider> AuthProvidersFor(StorageManager storage)
    {
        var providers = new Dictionary<string, IAuthProvider>(StringComparer.Ordinal);
        return host =>
        {
            lock (providers)
            {
                if (!providers.TryGetValue(host, out var provider))
                    providers[host] = provider = LuaAuthProviderFor(host) ?? AuthProviders.Create(host, _config, storage);
                return provider;
            }
        };
    }

    /// <summary>`authentication = "NAME"` other than the internal providers, served by a Lua mod_auth_NAME.</summary>
    private IAuthProvider? LuaAuthProviderFor(string host) =>
        _config.GetString(host, "authentication") is { } name && name is not ("internal_hashed" or "internal_plain")
            ? _lua?.AuthProvider(host, name)
            : null;

    private async Task ActivateHostsAsync(XmppServer server, ModuleCatalog catalog)
    {
        _lua = new LuaRuntime(server, catalog.PluginPaths, catalog.InstallationModules);
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
            var missing = await server.Modules.LoadAllAsync(host);
            if (missing.Count > 0) _log.Warn($"Modules not loaded on {host.Name}: {string.Join(", ", missing)}");
        }
    }

    // network_settings' admission caps; each service (c2s with its HTTP transports, s2s) counts
    // its own connections, so a flood on one cannot lock the other out.
    private ConnectionLimits NewConnectionLimits() => new()
    {
        MaxConnectionsPerIp = NetworkSetting("max_connections_per_ip", 0),
        MaxUnauthenticatedPerIp = NetworkSetting("max_unauthenticated_per_ip", ConnectionLimits.DefaultMaxUnauthenticatedPerIp),
        MaxUnauthenticated = NetworkSetting("max_unauthenticated", ConnectionLimits.DefaultMaxUnauthenticated),
    };

    private AuthFailureThrottle AuthThrottle(XmppServer server) => _authThrottle ??= new AuthFailureThrottle(server.Loop.Time);

    private static C2sServices C2sServicesFor(XmppServer server) =>
        new(server, server, server.Sessions, server.Router, server.Auth, server.Loop.Time);

    private void StartListeners(XmppServer server, IReadOnlyList<ListenEndpoint> endpoints)
    {
        var throttle = AuthThrottle(server);
        var c2s = C2sServicesFor(server);
        var certificates = _certificates!;
        var timeout = _config.GetNumber(null, "c2s_timeout") ?? 300;
        var sendBuffer = MaxSendBufferBytes();
        var limits = _c2sLimits = NewConnectionLimits();
        ConnectionOptions Options(bool directTls) => new()
        {
            DirectTls = directTls,
            CertificateFor = certificates.For,
            UnauthenticatedTimeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : null,
            MaxSendBufferBytes = sendBuffer,
            Limits = limits,
            Output = SharedOutputBounds(),
            SendDeadline = SendDeadline(),
        };
        IStreamHandler Handler(ClientConnection connection) => new ClientStreamHandler(c2s, connection, certificates.Has, throttle);

        foreach (var endpoint in endpoints)
        {
            // A direct-TLS port without any certificate would accept and fail every handshake.
            if (endpoint.DirectTls && certificates.For(null) is null)
                throw new OperatorException(new($"{endpoint.Option}: no VirtualHost has a usable certificate, so port {endpoint.EndPoint.Port} cannot offer TLS", ExitCodes.Unusable));
            ConnectionListener listener;
            try
            {
                listener = new ConnectionListener(endpoint.EndPoint, _loop!, Options(endpoint.DirectTls), Handler);
            }
            catch (SocketException e)
            {
                throw new OperatorException(new(Preflight.InUse(endpoint, e), ExitCodes.Unusable));
            }
            listener.Start();
            _listeners.Add(listener);
            // mod_net_multiplex hands c2s streams it recognises to the first plain c2s port.
            if (!endpoint.DirectTls && _lua is { AdoptC2s: null } lua) lua.AdoptC2s = listener.Adopt;
        }
    }

    // network_settings is where Prosody takes its net.server options from; max_send_buffer_size
    // (bytes) is the per-connection budget of unwritten output (see ConnectionOptions).
    // Past it a client is not reading; 0 would cut every client, so the least is 1 byte.
    private long MaxSendBufferBytes() =>
        NetworkNumber("max_send_buffer_size", ConnectionOptions.DefaultMaxSendBufferBytes, min: 1, max: long.MaxValue);

    private int NetworkSetting(string name, int fallback) => (int)NetworkNumber(name, fallback, min: 0, max: int.MaxValue);

    // One number from network_settings in [min, max] (0 means "no limit" where min is 0), else the
    // default with a warning naming the option.
    private long NetworkNumber(string name, long fallback, long min, long max)
    {
        if (_config.Get(null, "network_settings") is not ConfigTable settings) return fallback;
        var value = ConfigValues.AsNumber(settings[name]);
        if (value is null) return fallback;
        if (!double.IsFinite(value.Value) || value < min || value > max)
        {
            _log.Warn($"network_settings.{name} = {value} is not a number from {min} to {max}{(min == 0 ? " (0 for no limit)" : "")}; using {fallback}");
            return fallback;
        }
        return (long)value;
    }

    /// <summary>
    /// SIGHUP: reads the config again (a config that does not load is logged and the running one
    /// kept), reopens the log files, re-reads certificates and loads/unloads modules on every
    /// host to match modules_enabled / modules_disabled. Sessions and listeners stay as they are.
    /// </summary>
    public async Task ReloadAsync()
    {
        if (!_started || Server is not { } server || _config.Path is not { } path || _stopped) return;
        await _reloading.WaitAsync();
        try
        {
            SystemdNotify.Send("RELOADING=1");
            _log.Info($"Reloading config from {path}");
            ServerConfig fresh;
            try
            {
                fresh = ConfigLoader.Load(path);
            }
            catch (Exception e) when (e is ConfigException or IOException or UnauthorizedAccessException)
            {
                _log.Error($"Config reload failed, keeping the running config: {e.Message}");
                return;
            }
            LogSetup.Configure(fresh, _paths.ConfigDirectory);
            _certificates?.Reload(fresh, _paths);
            WarnAboutRestartOnlyChanges(fresh);
            await server.Loop.InvokeAsync(() => ApplyConfigAsync(server, fresh));
            _log.Info("Config reloaded");
        }
        finally
        {
            SystemdNotify.Send("READY=1");
            _reloading.Release();
        }
    }

    private async Task ApplyConfigAsync(XmppServer server, ServerConfig fresh)
    {
        var before = server.Hosts.Values.ToDictionary(h => h.Name, server.Modules.ModulesFor);
        _config = fresh;
        server.Config = fresh;
        foreach (var host in server.Hosts.Values)
        {
            var (loaded, unloaded) = await server.Modules.ReconcileAsync(host, before[host.Name]);
            if (loaded.Count > 0) _log.Info($"Modules loaded on {host.Name}: {string.Join(", ", loaded)}");
            if (unloaded.Count > 0) _log.Info($"Modules unloaded from {host.Name}: {string.Join(", ", unloaded)}");
        }
        var e = new EventData();
        e["filename"] = fresh.Path;
        // "Config reloaded" is said (and the CLI answered) once the handlers, waits included, are done.
        await server.GlobalEvents.FireAsync("config-reloaded", e);
    }

    private void WarnAboutRestartOnlyChanges(ServerConfig fresh)
    {
        var running = ListenerOptions.C2s(_config, out _).Select(e => e.EndPoint).ToHashSet();
        var wanted = ListenerOptions.C2s(fresh, out var error);
        if (error is not null) _log.Warn($"Reloaded config: {error}; listeners stay as they are");
        else if (!running.SetEquals(wanted.Select(e => e.EndPoint))) _log.Warn("Reloaded config changes ports or interfaces: restart to apply that");
        var hosts = Server!.Hosts.Keys.ToHashSet();
        var added = fresh.Hosts.Where(h => h.Enabled && !hosts.Contains(h.Name)).Select(h => h.Name).ToArray();
        if (added.Length > 0) _log.Warn($"Reloaded config adds hosts {string.Join(", ", added)}: restart to activate them");
    }

    public HttpListenerHost? Http => _http;

    // XEP-0114: component_ports (default 5347) on component_interfaces, else Prosody's
    // local_interfaces (loopback: the component port is a private service), opened only when a
    // Component is served by mod_component (an external component with a secret).
    private void StartComponentListeners(XmppServer server)
    {
        var external = _config.Hosts.Where(h => h.Kind == HostKind.Component && h.ComponentModule == "component").ToList();
        if (external.Count == 0) return;
        foreach (var host in external)
        {
            if (_config.GetString(host.Name, "component_secret") is null)
                _log.Error($"Component {host.Name} has no component_secret: no external component can connect for it");
        }
        // A private service: Prosody's local_interfaces (loopback) unless component_interfaces says otherwise.
        IReadOnlyList<string> local = _config.Get(null, "local_interfaces") is { } l ? ConfigValues.AsStringList(l) : ["127.0.0.1", "::1"];
        var endpoints = ListenerOptions.Service(_config, "component", [5347], local, out var error);
        if (error is not null) throw new OperatorException(new(error, ExitCodes.BadConfig));
        var options = new ConnectionOptions
        {
            CertificateFor = _ => null,
            UnauthenticatedTimeout = TimeSpan.FromSeconds(_config.GetNumber(null, "component_timeout") ?? 60),
            MaxSendBufferBytes = MaxSendBufferBytes(),
        };
        foreach (var endpoint in endpoints)
        {
            try
            {
                var listener = new ConnectionListener(endpoint.EndPoint, _loop!, options,
                    connection => new ComponentStreamHandler(server, server, server.Router, connection, _components));
                listener.Start();
                _listeners.Add(listener);
            }
            catch (SocketException e) when (endpoint.EndPoint.Address.Equals(System.Net.IPAddress.IPv6Loopback) && e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                _log.Debug($"Component listener on {endpoint.EndPoint} not opened: {e.Message}");
            }
            catch (SocketException e)
            {
                throw new OperatorException(new(Preflight.InUse(endpoint, e), ExitCodes.Unusable));
            }
        }
    }

    public S2sService? S2s => _s2s;

    // RFC 6120 server-to-server: route/remote on every host, and s2s_ports (default 5269) on
    // s2s_interfaces, else interfaces. As Prosody's portmanager, a port that cannot be bound is
    // logged and the server runs on without it (outgoing federation still works).
    private async Task StartS2sAsync(XmppServer server)
    {
        if (_config.GetBoolean(null, "disallow_s2s", false)) return;
        var certificates = _certificates!;
        var service = _s2s = new S2sService(server, server, server.Router, server.GlobalEvents, server.Loop, S2sSettings.From(_config), StaticDnsRecords.From(_config, w => _log.Warn(w)), certificates.For, certificates.Has);
        await _loop!.InvokeAsync(service.Attach);
        var interfaces = ListenerOptions.GlobalInterfaces(_config);
        var plain = ListenerOptions.Service(_config, "s2s", [S2sResolver.DefaultPort], interfaces, out var error);
        // XEP-0368: s2s_direct_tls_ports (none by default, as in Prosody 0.12).
        var direct = error is null ? ListenerOptions.Service(_config, "s2s_direct_tls", [], interfaces, out error) : [];
        if (error is not null) throw new OperatorException(new(error, ExitCodes.BadConfig));
        // The same admission caps as c2s (an unauthenticated peer holds a slot until dialback or
        // EXTERNAL succeeds; s2s_timeout ends it) and the same send deadline for a peer that stops reading.
        var options = service.IncomingOptions(new ConnectionOptions
        {
            CertificateFor = certificates.For,
            MaxSendBufferBytes = MaxSendBufferBytes(),
            Limits = NewConnectionLimits(),
            SendDeadline = SendDeadline(),
        });
        foreach (var endpoint in plain.Concat(direct))
        {
            try
            {
                var listener = new ConnectionListener(endpoint.EndPoint, _loop!, options with { DirectTls = endpoint.Option == "s2s_direct_tls_ports" },
                    service.CreateIncomingHandler);
                listener.Start();
                _listeners.Add(listener);
            }
            catch (SocketException e)
            {
                _log.Error($"{Preflight.InUse(endpoint, e)}; server-to-server connections will not be accepted there");
            }
        }
    }

    // As Prosody's portmanager does for mod_http: HTTP ports open only when a module wants HTTP.
    private async Task StartHttpAsync(ServerLoop loop, LuaRuntime lua, CertificateSet certificates)
    {
        if (!lua.HttpWanted && !_webSocketWanted && !_boshWanted) return;
        var settings = HttpListenerSettings.From(_config, problem => _log.Error(problem));
        try
        {
            _http = await HttpListenerHost.StartAsync(settings, loop, lua, certificates.For, _webSocketWanted ? WebSocketEndpointFor(Server!) : null,
                _boshWanted ? BoshEndpointFor(Server!) : null);
        }
        catch (IOException e)
        {
            throw new OperatorException(new($"http_ports/https_ports: {e.Message}", ExitCodes.Unusable));
        }
    }

    // XEP-0206 sessions are c2s sessions too, on the same stream handler (see BoshSession).
    private BoshEndpoint BoshEndpointFor(XmppServer server)
    {
        return new BoshEndpoint(BoshSettings.From(_config), TransportC2sFor(server).RunAsync,
            host => server.Hosts.TryGetValue(host, out var h) && !h.IsComponent,
            server.Loop.Time);
    }

    // A c2s connection over an HTTP transport's stream: c2s_timeout before authentication, the
    // c2s send budget and admission caps, no certificate and no STARTTLS (TLS is the HTTP layer's).
    private TransportC2s TransportC2sFor(XmppServer server)
    {
        var timeout = _config.GetNumber(null, "c2s_timeout") ?? 300;
        var options = new ConnectionOptions
        {
            CertificateFor = _ => null,
            UnauthenticatedTimeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : null,
            MaxSendBufferBytes = MaxSendBufferBytes(),
            Limits = _c2sLimits,
            Output = SharedOutputBounds(),
            SendDeadline = SendDeadline(),
        };
        var throttle = AuthThrottle(server);
        var c2s = C2sServicesFor(server);
        return new TransportC2s(_c2sLimits,
            (stream, ip, secure) => new ClientConnection(stream, ip, secure, server.Loop, options),
            c => new ClientStreamHandler(c2s, c, _ => false, throttle));
    }

    // RFC 7395 sessions are c2s sessions: the same stream handler over the bridge's stream, no
    // STARTTLS (TLS is the HTTP layer's), https or consider_websocket_secure makes them secure.
    private WebSocketEndpoint WebSocketEndpointFor(XmppServer server)
    {
        var path = _config.Get(null, "http_paths") is ConfigTable paths && ConfigValues.AsString(paths["websocket"]) is { } p ? p : WebSocketEndpoint.DefaultPath;
        var maxFrame = _config.GetNumber(null, "websocket_frame_fragment_limit") is { } f && f > 0 ? (int)f : 1024 * 1024;
        return new WebSocketEndpoint(path, TransportC2sFor(server).RunAsync,
            _config.GetBoolean(null, "consider_websocket_secure", false),
            maxFrame);
    }

    /// <summary>
    /// Stops accepting, tells modules (server-stopping: hibernating sessions are flushed to
    /// offline storage there), closes every session with system-shutdown and waits for them.
    /// </summary>
    public async Task StopAsync(string reason)
    {
        if (_stopped) return;
        _stopped = true;
        SystemdNotify.Send("STOPPING=1");
        _log.Info("Shutting down: " + reason);
        foreach (var l in _listeners) await l.DisposeAsync();
        if (_adminSocket is not null) await _adminSocket.DisposeAsync();
        if (_http is not null) await _http.DisposeAsync();
        if (Server is { } server)
        {
            await ServerStoppingAsync(server, reason);
            await server.Loop.InvokeAsync(() =>
            {
                _s2s?.CloseAll(StreamErrorCondition.SystemShutdown, reason);
                foreach (var session in server.Sessions.All.ToArray())
                {
                    session.Close(StreamErrorCondition.SystemShutdown, reason);
                    server.Sessions.Destroy(session, reason);
                }
            });
            foreach (var l in _listeners) await l.DrainAsync(TimeSpan.FromSeconds(5));
            await FireAndWaitAsync(server, "server-stopped", new EventData());
            await server.Loop.InvokeAsync(() => _lua?.Dispose());
        }
        if (_loop is not null) await _loop.DisposeAsync();
        _storage?.Dispose();
        _certificates?.Dispose();
        _gen0?.Dispose();
        if (_pidFile is not null && Server is not null) PidFile.Remove(_pidFile);
        _log.Info("Stopped");
    }

    /// <summary>
    /// Fires server-stopping and waits for its handlers, a Lua one that waits included: mod_smacks
    /// writes each resumable session's h and unacked messages to storage there, and those writes
    /// suspend its runner instead of blocking the loop, so the sessions must not be closed (nor the
    /// process end) before the chain is done. Bounded, so a handler that never finishes cannot hold
    /// the shutdown.
    /// </summary>
    private Task ServerStoppingAsync(XmppServer server, string reason)
    {
        var e = new EventData();
        e["reason"] = reason;
        return FireAndWaitAsync(server, "server-stopping", e);
    }

    /// <summary>Fires a shutdown event on the loop and waits for its chain, at most 30 s (server-stopped's handlers too, before the runtime goes).</summary>
    private async Task FireAndWaitAsync(XmppServer server, string name, EventData e)
    {
        var chain = await server.Loop.InvokeAsync(() => server.GlobalEvents.FireAsync(name, e).AsTask());
        var bound = TimeSpan.FromSeconds(30);
        if (await Task.WhenAny(chain, Task.Delay(bound, server.Loop.Time)) != chain)
            _log.Warn($"{name} handlers still running after {bound.TotalSeconds:0} s; shutting down without them");
    }

    public async ValueTask DisposeAsync() => await StopAsync("disposed");
}
