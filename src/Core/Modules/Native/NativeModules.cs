using LuaXmpp.Hosting;

namespace LuaXmpp.Modules.Native;

/// <summary>The modules the core implements in C#; a Lua module of the same name still takes precedence.</summary>
public static class NativeModules
{
    public static void RegisterAll(ModuleManager modules) => RegisterAll(modules.RegisterNative);

    /// <summary>Calls <paramref name="register"/> with every native module's name and factory.</summary>
    public static void RegisterAll(Action<string, Func<INativeModule>> register)
    {
        register("iq", () => new IqModule());
        register("message", () => new MessageModule());
        register("presence", () => new PresenceModule());
        register("roster", () => new RosterModule());
        register("offline", () => new OfflineModule());
        register("disco", () => new DiscoModule());
        register("ping", () => new PingModule());
        register("time", () => new TimeModule());
        register("version", () => new VersionModule());
        register("uptime", () => new UptimeModule());
        register("register", () => new RegisterModule());
        register("register_ibr", () => new RegisterIbrModule());
        register("user_account_management", () => new AccountManagementModule());
        register("blocklist", () => new BlocklistModule());
        register("carbons", () => new CarbonsModule());
    }
}
