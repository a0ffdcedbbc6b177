using LuaXmpp.Hosts;

namespace LuaXmpp.Hosting;

/// <summary>Loads modules from files (the Lua bridge). The module manager asks it before native modules.</summary>
public interface IModuleRuntime
{
    /// <summary>Whether a module file of that name exists on the plugin paths.</summary>
    bool CanLoad(string name);

    /// <summary>
    /// Whether the file <see cref="CanLoad"/> found is only in Prosody's installed module
    /// directory, searched last: then a native module of that name wins.
    /// </summary>
    bool IsInstallationFallback(string name) => false;

    /// <summary>
    /// Loads the module into the host: the task gives an error message, or null on success. It
    /// completes when the load finished or raised, or with an error once it waited longer than
    /// <paramref name="timeout"/> (the load is then abandoned: what it set up goes when it ends).
    /// </summary>
    Task<string?> LoadAsync(HostContext host, string name, TimeSpan timeout);

    /// <summary>Unloads it from the host; false if it was not loaded there.</summary>
    bool Unload(HostContext host, string name);

    /// <summary>
    /// Gives up a load of the module on the host that is still waiting: its task completes with
    /// an error now, and what the load set up is discarded when its wait ends. False if no load
    /// of it waits (the module manager then unloads it should its load still succeed).
    /// </summary>
    bool CancelLoad(HostContext host, string name) => false;
}
