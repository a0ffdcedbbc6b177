namespace LuaXmpp.Modules.Native;

/// <summary>The modules the core implements in C#; a Lua module of the same name still takes precedence.</summary>
public static class NativeModules
{
    public static void RegisterAll(ModuleManager modules)
    {
        modules.RegisterNative("iq", () => new IqModule());
        modules.RegisterNative("message", () => new MessageModule());
        modules.RegisterNative("presence", () => new PresenceModule());
        modules.RegisterNative("roster", () => new RosterModule());
        modules.RegisterNative("offline", () => new OfflineModule());
        modules.RegisterNative("disco", () => new DiscoModule());
        modules.RegisterNative("ping", () => new PingModule());
        modules.RegisterNative("time", () => new TimeModule());
        modules.RegisterNative("version", () => new VersionModule());
        modules.RegisterNative("uptime", () => new UptimeModule());
        modules.RegisterNative("register", () => new RegisterModule());
        modules.RegisterNative("register_ibr", () => new RegisterIbrModule());
        modules.RegisterNative("user_account_management", () => new AccountManagementModule());
    }
}
