using LuaXmpp.Configuration;
using LuaXmpp.Modules;
using LuaXmpp.Modules.Native;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Which module names this installation can load: Lua files on the plugin paths (the config's
/// plugin_paths, then our modules/ directory), native modules, and what the core provides.
/// </summary>
public sealed class ModuleCatalog(IReadOnlyList<string> pluginPaths, IReadOnlySet<string> nativeNames)
{
    public IReadOnlyList<string> PluginPaths { get; } = pluginPaths;

    public static ModuleCatalog For(ServerConfig config, string configDirectory)
    {
        var paths = config.GetStringList(null, "plugin_paths").Select(p => ServerPaths.Resolve(configDirectory, p)).ToList();
        paths.Add(Path.Combine(AppContext.BaseDirectory, "modules"));
        var manager = new ModuleManagerNames();
        NativeModules.RegisterAll(manager.Register);
        return new ModuleCatalog(paths, manager.Names);
    }

    public bool Exists(string name) =>
        ModuleManager.CoreProvided.Contains(name) || nativeNames.Contains(name) || LuaFileExists(name);

    private bool LuaFileExists(string name) => PluginPaths.Any(dir =>
        File.Exists(Path.Combine(dir, $"mod_{name}.lua")) || File.Exists(Path.Combine(dir, $"mod_{name}", $"mod_{name}.lua")));

    private sealed class ModuleManagerNames
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public void Register(string name, Func<INativeModule> factory) => Names.Add(name);
    }
}
