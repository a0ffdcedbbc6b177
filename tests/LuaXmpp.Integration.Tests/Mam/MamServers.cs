using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Mam;

/// <summary>Which mod_mam a test server loads.</summary>
public enum MamModule
{
    /// <summary>Ours: modules/mod_mam over the native archive writer.</summary>
    LuaXmpp,

    /// <summary>Prosody 0.12's own mod_mam, copied unmodified from the package into a temporary plugin path (its daily expiry task runs on our mod_cron).</summary>
    Prosody,
}

/// <summary>Starts servers with mod_mam loaded and a few accounts.</summary>
internal static class MamServers
{
    public const string Password = "pw-mam";

    private const string ProsodyModules = "/usr/lib/prosody/modules";

    public static async Task<ServerProcess> StartAsync(ITestOutputHelper output, MamModule module = MamModule.LuaXmpp,
        Action<ServerConfig>? configure = null, params string[] users)
    {
        var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("modules_enabled", ServerConfig.LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam"));
            configure?.Invoke(config);
        });
        try
        {
            if (module == MamModule.Prosody) UseProsodysModule(server);
            await server.WriteConfigAsync();
            foreach (var user in users) await server.RegisterAsync(user, Password);
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Copies the packaged mod_mam directory into a plugin path searched before ours; the cron service is ours.</summary>
    private static void UseProsodysModule(ServerProcess server)
    {
        var plugins = Directory.CreateDirectory(Path.Combine(server.Directory, "prosody-plugins")).FullName;
        var mam = Directory.CreateDirectory(Path.Combine(plugins, "mod_mam")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(ProsodyModules, "mod_mam"), "*.lua"))
        {
            File.Copy(file, Path.Combine(mam, Path.GetFileName(file)));
        }
        server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
    }
}
