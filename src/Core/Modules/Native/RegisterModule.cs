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

    private static void Depend(ModuleContext module, string name)
    {
        if (module.Server.Modules.Load(module.Host, name) is { } error) throw new InvalidOperationException($"Dependency {name} failed: {error}");
    }
}
