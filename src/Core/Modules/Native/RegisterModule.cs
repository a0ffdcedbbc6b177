using LuaXmpp.Hosting;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_register: in-band registration (XEP-0077) is switched on by allow_registration and lives
/// in register_ibr; account management (password change, cancellation) in user_account_management.
/// </summary>
public sealed class RegisterModule : INativeModule
{
    public string Name => "register";

    public void Load(ModuleContext module)
    {
        if (module.GetOptionBoolean("allow_registration", false)) Depend(module, "register_ibr");
        Depend(module, "user_account_management");
    }

    // Both are native modules, loaded at once; a Lua file standing in for one may wait, and its
    // outcome is then logged by the module manager.
    private static void Depend(ModuleContext module, string name)
    {
        var load = module.Server.Modules.LoadAsync(module.Host, name);
        if (load.IsCompletedSuccessfully && load.Result is { } error) throw new InvalidOperationException($"Dependency {name} failed: {error}");
    }
}
