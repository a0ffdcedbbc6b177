using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;

namespace LuaXmpp.Hosting;

/// <summary>
/// Prosody's core/modulemanager.lua: decides which modules a host gets and loads them, from the
/// Lua runtime (plugin paths first, then our modules/) or from the native registry.
/// </summary>
public sealed class ModuleManager(IProsody server)
{
    /// <summary>Loaded on every host whether listed or not (Prosody's autoload_modules).</summary>
    public static readonly string[] AutoloadModules = ["presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs"];

    /// <summary>The global modules a Component inherits (Prosody's component_inheritable_modules): mod_iq among them.</summary>
    public static readonly string[] ComponentInheritable = ["tls", "saslauth", "dialback", "iq", "s2s", "s2s_bidi", "smacks", "http_openmetrics"];

    /// <summary>Names the C# core implements itself, so listing them loads nothing more.</summary>
    public static readonly HashSet<string> CoreProvided = new(StringComparer.Ordinal)
    {
        "c2s", "s2s", "s2s_auth_certs", "dialback", "saslauth", "tls", "posix", "auth_internal_hashed", "auth_internal_plain",
        "storage_internal", "storage_sql", "storage_memory", "admin_shell", "admin_socket",
    };

    /// <summary>
    /// Native modules that replace Prosody's file of the same name (which needs Prosody's own c2s,
    /// portmanager or component listener): the native one loads even when plugin_paths holds it.
    /// </summary>
    public static readonly HashSet<string> NativeWins = new(StringComparer.Ordinal) { "websocket", "bosh", "component" };

    private readonly Dictionary<string, Func<INativeModule>> _native = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Host, string Name), object> _loaded = new();
    private readonly Dictionary<(string Host, string Name), LoadUnderWay> _loading = new();

    /// <summary>A load that waits; <see cref="Unloaded"/> once the module was unloaded meanwhile.</summary>
    private sealed class LoadUnderWay
    {
        public Task<string?> Task { get; set; } = NoError;

        public bool Unloaded { get; set; }
    }
    private readonly Logger _log = Logger.For("modulemanager");

    /// <summary>The Lua runtime, when the bridge is present.</summary>
    public IModuleRuntime? Runtime { get; set; }

    public void RegisterNative(string name, Func<INativeModule> factory) => _native[name] = factory;

    public bool IsLoaded(string host, string name) => _loaded.ContainsKey((host, name));

    /// <summary>Whether the module's load has started and not ended yet (it waits).</summary>
    public bool IsLoading(string host, string name) => _loading.ContainsKey((host, name));

    public IEnumerable<string> LoadedModules(string host) =>
        _loaded.Keys.Where(k => k.Host == host).Select(k => k.Name);

    /// <summary>The set Prosody would load on the host: autoloads and modules_enabled, less modules_disabled.</summary>
    public IReadOnlyList<string> ModulesFor(HostContext host)
    {
        var config = server.Config;
        // After a reload the host's section is the one in the new config.
        var hostConfig = config.FindHost(host.Name) ?? host.Config;
        var globalEnabled = config.GetStringList(null, "modules_enabled");
        var globalDisabled = config.GetStringList(null, "modules_disabled");
        var set = new List<string>();
        void Add(string m)
        {
            if (!set.Contains(m)) set.Add(m);
        }
        if (!host.IsComponent)
        {
            foreach (var m in AutoloadModules) Add(m);
            foreach (var m in globalEnabled) Add(m);
            set.RemoveAll(globalDisabled.Contains);
        }
        else
        {
            // A component gets its own module set plus the inheritable global ones (mod_iq turns
            // "iq/host" into the "iq-get/host/NS:NAME" events mod_muc and mod_pubsub hook).
            foreach (var m in AutoloadModules.Concat(globalEnabled))
            {
                if (ComponentInheritable.Contains(m) && !globalDisabled.Contains(m)) Add(m);
            }
        }
        // Prosody's usermanager loads mod_auth_<authentication> on the host: a Lua file such as
        // mod_auth_insecure when one is on plugin_paths, else the native internal providers.
        if (!host.IsComponent && config.GetString(host.Name, "authentication") is { } provider)
        {
            Add("auth_" + provider);
        }
        if (hostConfig.Options.ContainsKey("modules_enabled"))
        {
            foreach (var m in config.GetStringList(host.Name, "modules_enabled")) Add(m);
        }
        if (hostConfig.Options.ContainsKey("modules_disabled"))
        {
            set.RemoveAll(config.GetStringList(host.Name, "modules_disabled").Contains);
        }
        // A component's own module loads first, as in Prosody's modulemanager: modules enabled on
        // the component (mod_pubsub_text_interface) depend on the service it sets up.
        if (hostConfig.ComponentModule is { } component)
        {
            set.Remove(component);
            set.Insert(0, component);
        }
        return set;
    }

    /// <summary>
    /// Loads everything <see cref="ModulesFor"/> lists, one after the other (a module's load may
    /// read what an earlier one set up, as mod_pubsub_text_interface reads mod_pubsub's service);
    /// returns the names that did not load.
    /// </summary>
    public async Task<IReadOnlyList<string>> LoadAllAsync(HostContext host)
    {
        var missing = new List<string>();
        foreach (var name in ModulesFor(host))
        {
            if (await LoadAsync(host, name) is not null) missing.Add(name);
        }
        return missing;
    }

    /// <summary>
    /// Loads one module: null on success, else why not. A Lua module's load runs in a runner and
    /// may wait (storage, SQL): the task then completes when the load finished, raised or ran out
    /// of <see cref="LoadTimeout"/>, and the loop serves everything else meanwhile. A second
    /// request for a module whose load is under way gets the same task.
    /// </summary>
    public Task<string?> LoadAsync(HostContext host, string name)
    {
        var key = (host.Name, name);
        if (_loaded.ContainsKey(key)) return NoError;
        if (_loading.TryGetValue(key, out var running)) return running.Task;
        // What the core implements is never taken from a Lua file: Prosody's mod_c2s.lua and the
        // like need Prosody's own core (util.xmppstream, core.certmanager) and cannot run here.
        if (!CoreProvided.Contains(name) && !(NativeWins.Contains(name) && _native.ContainsKey(name))
            && Runtime is { } runtime && runtime.CanLoad(name)
            && !(_native.ContainsKey(name) && runtime.IsInstallationFallback(name)))
        {
            var load = runtime.LoadAsync(host, name, LoadTimeout);
            if (load.IsCompletedSuccessfully) return Task.FromResult(LuaLoadEnded(host, name, runtime, load.Result));
            var underWay = new LoadUnderWay();
            var pending = AwaitLoadAsync(underWay, key, host, name, runtime, load);
            if (!pending.IsCompleted)
            {
                underWay.Task = pending;
                _loading[key] = underWay;
            }
            return pending;
        }
        return Task.FromResult(LoadInCore(host, name));
    }

    /// <summary>How long a module's load may wait before it counts as not loaded: module_load_timeout (seconds, LuaXmpp's option), 60 by default.</summary>
    public TimeSpan LoadTimeout =>
        server.Config.GetNumber(null, "module_load_timeout") is { } seconds && double.IsFinite(seconds) && seconds > 0
            ? TimeSpan.FromSeconds(Math.Min(seconds, 86_400))
            : TimeSpan.FromSeconds(60);

    private static readonly Task<string?> NoError = Task.FromResult<string?>(null);

    private async Task<string?> AwaitLoadAsync(LoadUnderWay underWay, (string, string) key, HostContext host, string name, IModuleRuntime runtime, Task<string?> load)
    {
        string? error;
        try
        {
            // The continuation comes back on the loop (its synchronization context).
            error = await load;
        }
        catch (Exception ex)
        {
            error = ex.Message;
        }
        if (underWay.Unloaded) return LoadEndedAfterUnload(key, host, name, runtime, error);
        _loading.Remove(key);
        return LuaLoadEnded(host, name, runtime, error);
    }

    /// <summary>The module was unloaded while its load waited: whatever the load achieved, it stays unloaded, unless a later load took it up.</summary>
    private string LoadEndedAfterUnload((string, string) key, HostContext host, string name, IModuleRuntime runtime, string? error)
    {
        // The runtime keeps one module per (host, name): once a later load of it has started (an
        // operator's unload then load), the module is that load's, and unloading it here would
        // leave the later load's module unloaded while the manager counts it as loaded.
        bool laterLoad = _loading.ContainsKey(key) || (_loaded.TryGetValue(key, out var owner) && owner == runtime);
        if (error is null && !laterLoad)
        {
            // A runtime that could not give the load up: it loaded after all, so it goes now.
            runtime.Unload(host, name);
        }
        _log.Info(laterLoad
            ? $"mod_{name} on {host.Name} was unloaded while it was loading; a later load of it stands"
            : $"mod_{name} on {host.Name} was unloaded while it was loading; it stays unloaded");
        return $"mod_{name} was unloaded while it was loading";
    }

    private string? LuaLoadEnded(HostContext host, string name, IModuleRuntime runtime, string? error)
    {
        if (error is not null)
        {
            _log.Error($"Error loading module '{name}' on '{host.Name}': {error}");
            return error;
        }
        _loaded[(host.Name, name)] = runtime;
        FireLoaded(host, name);
        return null;
    }

    /// <summary>A native module, or one the core provides: loaded at once.</summary>
    private string? LoadInCore(HostContext host, string name)
    {
        if (_native.TryGetValue(name, out var factory))
        {
            var context = new ModuleContext(server, host, name);
            try
            {
                factory().Load(context);
            }
            catch (Exception ex)
            {
                context.Dispose();
                _log.Error($"Error loading module '{name}' on '{host.Name}'", ex);
                return ex.Message;
            }
            _loaded[(host.Name, name)] = context;
            _log.Debug($"Loaded mod_{name} on {host.Name} (native)");
        }
        else if (CoreProvided.Contains(name))
        {
            _loaded[(host.Name, name)] = this;
            _log.Debug($"Loaded mod_{name} on {host.Name} (provided by the core)");
        }
        else
        {
            _log.Warn($"Module '{name}' is enabled on '{host.Name}' but not available here; skipping it");
            return "module not found";
        }
        FireLoaded(host, name);
        return null;
    }

    private void FireLoaded(HostContext host, string name)
    {
        var e = new EventData();
        e["module"] = name;
        e["host"] = host.Name;
        host.Events.Fire("module-loaded", e);
        server.GlobalEvents.Fire("module-loaded", e);
    }

    /// <summary>
    /// Brings the host's modules in line with the current config after a reload: loads what
    /// <see cref="ModulesFor"/> lists and is not loaded; unloads what the old config listed
    /// (<paramref name="before"/>) and the new one does not. Modules loaded as dependencies
    /// (module:depends) stay. Returns the names loaded and unloaded.
    /// </summary>
    public async Task<(IReadOnlyList<string> Loaded, IReadOnlyList<string> Unloaded)> ReconcileAsync(HostContext host, IReadOnlyList<string> before)
    {
        var wanted = ModulesFor(host);
        var unloaded = before.Where(m => !wanted.Contains(m) && (IsLoaded(host.Name, m) || IsLoading(host.Name, m))).ToList();
        foreach (var name in unloaded) Unload(host, name);
        var loaded = new List<string>();
        foreach (var name in wanted.Where(m => !IsLoaded(host.Name, m)).ToList())
        {
            if (await LoadAsync(host, name) is null) loaded.Add(name);
        }
        return (loaded, unloaded);
    }

    /// <summary>
    /// Unloads a module; one whose load still waits is given up (it ends not loaded, and what it
    /// hooked goes when its wait ends), and module-unloaded is not fired for it. False if it was
    /// neither loaded nor loading.
    /// </summary>
    public bool Unload(HostContext host, string name)
    {
        if (_loading.Remove((host.Name, name), out var underWay))
        {
            underWay.Unloaded = true;
            Runtime?.CancelLoad(host, name);
            return true;
        }
        if (!_loaded.Remove((host.Name, name), out var owner)) return false;
        if (owner is ModuleContext context) context.Dispose();
        else if (owner is IModuleRuntime runtime) runtime.Unload(host, name);
        var e = new EventData();
        e["module"] = name;
        e["host"] = host.Name;
        host.Events.Fire("module-unloaded", e);
        return true;
    }
}
