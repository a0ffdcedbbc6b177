using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Modules.Native;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Which module names this installation can load: Lua files on the plugin paths (the config's
/// plugin_paths, then our modules/ directory), native modules, what the core provides, and the
/// module files of an installed Prosody (/usr/lib/prosody/modules, Debian's prosody and
/// prosody-modules packages), searched last as Prosody searches its own directory last, so an
/// existing Prosody config (Debian's names no plugin_paths for them) finds them.
/// </summary>
public sealed class ModuleCatalog(IReadOnlyList<string> pluginPaths, IReadOnlySet<string> nativeNames, int configuredPaths,
    string? installationModules = null)
{
    /// <summary>Where Debian's prosody package installs Prosody's modules (its CFG_PLUGINDIR).</summary>
    public const string ProsodyInstallationModules = "/usr/lib/prosody/modules";

    public IReadOnlyList<string> PluginPaths { get; } = pluginPaths;

    /// <summary>Prosody's installed module directory when it exists (and is not already on plugin_paths).</summary>
    public string? InstallationModules { get; } = installationModules;

    public static ModuleCatalog For(ServerConfig config, string configDirectory)
    {
        var paths = config.GetStringList(null, "plugin_paths").Select(p => ServerPaths.Resolve(configDirectory, p)).ToList();
        var configured = paths.Count;
        paths.Add(Path.Combine(AppContext.BaseDirectory, "modules"));
        var manager = new ModuleManagerNames();
        NativeModules.RegisterAll(manager.Register);
        var installation = Directory.Exists(ProsodyInstallationModules)
            && !paths.Any(p => Path.TrimEndingDirectorySeparator(p) == ProsodyInstallationModules) ? ProsodyInstallationModules : null;
        return new ModuleCatalog(paths, manager.Names, configured, installation);
    }

    public bool Exists(string name) =>
        ModuleManager.CoreProvided.Contains(name) || nativeNames.Contains(name) || LuaFileExists(name);

    /// <summary>
    /// For check config: module files on the configured plugin_paths whose name is also one of
    /// ours, and which one wins. The core's modules (c2s, tls, saslauth, ...) always win, since
    /// Prosody's files of those names need Prosody's own core; a Lua file wins over a native module.
    /// </summary>
    public IEnumerable<string> ShadowedModules()
    {
        foreach (var dir in PluginPaths.Take(configuredPaths))
        {
            var core = ModuleManager.CoreProvided.Order(StringComparer.Ordinal).Where(n => LuaFile(dir, n) is not null).ToArray();
            if (core.Length > 0)
            {
                yield return $"plugin_paths: {dir} holds Prosody core modules that LuaXmpp's core replaces; the core wins and these files are not loaded: "
                    + string.Join(", ", core.Select(n => $"mod_{n}.lua"));
            }
            var native = nativeNames.Order(StringComparer.Ordinal).Where(n => LuaFile(dir, n) is not null).ToArray();
            if (native.Length > 0)
            {
                yield return $"plugin_paths: these files in {dir} take precedence over LuaXmpp's native modules of the same name: "
                    + string.Join(", ", native.Select(n => $"mod_{n}.lua"));
            }
        }
    }

    private bool LuaFileExists(string name) =>
        PluginPaths.Any(dir => LuaFile(dir, name) is not null) || (InstallationModules is { } dir && LuaFile(dir, name) is not null);

    private static string? LuaFile(string dir, string name)
    {
        var flat = Path.Combine(dir, $"mod_{name}.lua");
        if (File.Exists(flat)) return flat;
        var nested = Path.Combine(dir, $"mod_{name}", $"mod_{name}.lua");
        return File.Exists(nested) ? nested : null;
    }

    private sealed class ModuleManagerNames
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public void Register(string name, Func<INativeModule> factory) => Names.Add(name);
    }
}
