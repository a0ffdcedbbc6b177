namespace LuaXmpp.Hosting;

/// <summary>
/// A module written in C#, loaded by name exactly like a Lua module (modules_enabled,
/// modules_disabled). A Lua file of the same name in a plugin path takes precedence, so an
/// operator can swap in Prosody's own module.
/// </summary>
public interface INativeModule
{
    /// <summary>The module name without "mod_", e.g. "roster".</summary>
    string Name { get; }

    /// <summary>Loads into a host (or globally). Hooks through <paramref name="module"/> are removed on unload.</summary>
    void Load(ModuleContext module);
}
