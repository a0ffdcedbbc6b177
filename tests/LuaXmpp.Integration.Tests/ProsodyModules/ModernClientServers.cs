using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// One LuaXmpp and one Prosody 0.12.3 process with the same config and the same module files
/// (copied from the Debian packages at test time): what a 2026 client uses on top of the core —
/// pep, bookmarks, vcard4, vcard_legacy, private, ad-hoc with admin commands and invites, and
/// a MUC component with muc_mam. Every scenario runs against both, so a test that passes on
/// Prosody and fails here is a LuaXmpp bug, and one that fails on both is a wrong test.
/// </summary>
public sealed class ModernClientServers : ServerPair
{
    public const string MucService = "conference.localhost";

    /// <summary>Accounts made with the CLI before the servers start; every scenario uses its own.</summary>
    public static readonly string[] Users = ["alice", "bob", "carol", "mallory", "admin"];

    private static readonly string[] ModuleFiles =
    [
        "mod_pep.lua", "mod_pubsub", "mod_bookmarks.lua", "mod_vcard4.lua", "mod_vcard_legacy.lua",
        "mod_private.lua", "adhoc", "mod_admin_adhoc.lua", "mod_invites.lua", "mod_invites_adhoc.lua",
        "mod_invites_register.lua", "muc", "mod_muc_unique.lua", "mod_muc_mam.lua",
    ];

    private ProsodyPluginDirectory? _plugins;

    public override async Task InitializeAsync()
    {
        _plugins = ProsodyPluginDirectory.With(ModuleFiles);
        await base.InitializeAsync();
    }

    protected override async Task<ServerProcess> PrepareAsync(ServerFlavor flavor)
    {
        var server = await ServerProcess.CreateAsync(null, Configure, flavor);
        foreach (var user in Users)
        {
            // One at a time: the CLI writes the same store.
            await server.RegisterAsync(user, "pass-" + user);
        }
        return server;
    }

    private void Configure(ServerConfig config)
    {
        config.Set("plugin_paths", ServerConfig.LuaList(_plugins!.Path))
            .Set("admins", ServerConfig.LuaList("admin@localhost"))
            // mod_invites_adhoc: a user's contact invite may also create the account (XEP-0401).
            .Set("allow_user_invites", "true")
            .Set("modules_enabled", ServerConfig.LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "register", "private", "pep", "bookmarks",
                "vcard4", "vcard_legacy", "adhoc", "admin_adhoc", "invites", "invites_adhoc", "invites_register"));
        config.ExtraSections.Add($"Component \"{MucService}\" \"muc\"\n  modules_enabled = {{ \"muc_mam\" }}");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _plugins?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ModernClientCollection : ICollectionFixture<ModernClientServers>
{
    public const string Name = "Prosody modules of a modern client, on LuaXmpp and on Prosody";
}
