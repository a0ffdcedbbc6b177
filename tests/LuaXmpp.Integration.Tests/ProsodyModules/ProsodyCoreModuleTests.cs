using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody 0.12's own core-service modules (mod_roster, mod_presence, mod_message, mod_offline,
/// mod_carbons, mod_smacks), unmodified from the Debian package, in place of ours: they only
/// work if the session, bare-session and roster tables have Prosody's shape and every fact
/// (presence, priority, roster, conn) is the one C# routes by (docs/BRIDGE.md, "Sessions").
/// </summary>
public sealed class ProsodyCoreModuleTests(ITestOutputHelper output)
{
    private static readonly string[] CoreFiles =
        ["mod_roster.lua", "mod_presence.lua", "mod_message.lua", "mod_offline.lua", "mod_carbons.lua", "mod_smacks.lua"];

    private static readonly string[] Replaced = ["roster", "presence", "message", "offline", "carbons", "smacks"];

    /// <summary>Debian's /etc/prosody/prosody.cfg.lua modules_enabled (0.12.3 package), minus posix (daemonizing).</summary>
    private static readonly string[] DebianModules =
    [
        "disco", "roster", "saslauth", "tls", "blocklist", "bookmarks", "carbons", "dialback", "limits", "pep",
        "private", "smacks", "vcard4", "vcard_legacy", "csi_simple", "invites", "invites_adhoc", "invites_register",
        "ping", "register", "time", "uptime", "version", "admin_adhoc", "admin_shell",
    ];

    [Fact]
    public async Task CoreModules_RosterPresenceMessagesCarbonsAndResume_Work()
    {
        using var plugins = ProsodyPluginDirectory.With(CoreFiles);
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(
                ["roster", "saslauth", "tls", "disco", "ping", "register", "offline", "carbons", "smacks"]));
        });
        foreach (var module in Replaced) AssertLoadedFrom(server, Path.Combine(plugins.Path, $"mod_{module}.lua"));
        await RunCoreScenarioAsync(server);
    }

    /// <summary>
    /// Prosody's mod_presence and mod_roster set presence, priority and the roster; our native
    /// message routing (top resources) and our mod_smacks (hibernation, resume) read them from C#.
    /// </summary>
    [Fact]
    public async Task ProsodyPresenceAndRoster_DriveOurNativeRoutingAndSmacks()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_roster.lua", "mod_presence.lua", "mod_carbons.lua");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(
                ["roster", "saslauth", "tls", "disco", "ping", "register", "offline", "carbons", "smacks"]));
        });
        foreach (var module in new[] { "roster", "presence", "carbons" })
            AssertLoadedFrom(server, Path.Combine(plugins.Path, $"mod_{module}.lua"));
        await RunCoreScenarioAsync(server);
    }

    [Fact]
    public async Task Smacks_HibernationTimesOut_QueuedMessageBouncesOrGoesOffline()
    {
        using var plugins = ProsodyPluginDirectory.With(CoreFiles);
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(["roster", "saslauth", "tls", "disco", "offline", "smacks"]));
            config.Set("smacks_hibernation_time", "2");
        });
        AssertLoadedFrom(server, Path.Combine(plugins.Path, "mod_smacks.lua"));
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        var result = await PythonClient.RunAsync(server, "prosody_core.py", "--scenario", "timeout", "--hibernation", "2",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            // Another resource was online: the sender gets recipient-unavailable (XEP-0198 §5).
            Assert.Equal([server.Jid("alice") + "/one:recipient-unavailable"], r.Strings("bounced"));
            Assert.Equal(0, r["bounce_reached_other_resource"].GetInt32());
            // It was the last resource: offline storage, delivered once on the next login.
            Assert.Equal(1, r["offline_delivered"].GetInt32());
            Assert.True(r["delayed"].GetBoolean());
        });
    }

    [Fact]
    public async Task DebianInstall_PluginPathIsThePackage_CoreServicesWork()
    {
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(ProsodyPluginDirectory.PackageModules));
            config.Set("modules_enabled", ServerConfig.LuaList(DebianModules));
        });
        foreach (var module in Replaced)
            AssertLoadedFrom(server, Path.Combine(ProsodyPluginDirectory.PackageModules, $"mod_{module}.lua"));
        await RunCoreScenarioAsync(server);
    }

    private static void AssertLoadedFrom(ServerProcess server, string file)
    {
        if (server.Flavor.IsProsody) return;
        var module = Path.GetFileNameWithoutExtension(file);
        server.Check(() => Assert.Contains($"Loaded {module} on {server.Host} from {file}", server.LogTail(100_000)));
    }

    internal static async Task RunCoreScenarioAsync(ServerProcess server)
    {
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        var result = await PythonClient.RunAsync(server, "prosody_core.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.True(r["sm_enabled"].GetBoolean());
            Assert.Equal("both", r.String("roster_bob.subscription"));
            Assert.Equal("both", r.String("roster_alice.subscription"));
            Assert.True(r["presence_seen"].GetBoolean());
            Assert.Equal("result", r.String("carbons_enable"));
            // Bare JID: each top resource once, and no carbon to the resource that got it.
            Assert.Equal(1, r["bare.one"].GetInt32());
            Assert.Equal(1, r["bare.two"].GetInt32());
            Assert.Equal(0, r["bare.carbons_at_two"].GetInt32());
            // Full JID: only that resource; the other gets one received carbon.
            Assert.Equal(1, r["full.one"].GetInt32());
            Assert.Equal(0, r["full.two"].GetInt32());
            Assert.Equal(1, r["full.carbons_at_two"].GetInt32());
            Assert.Equal(1, r["reply_at_bob"].GetInt32());
            // XEP-0198 §4: every stanza alice sent was counted and acknowledged.
            Assert.True(r["acks.sent"].GetInt32() > 0);
            Assert.Equal(r["acks.sent"].GetInt32(), r["acks.acked"].GetInt32());
            Assert.Equal(0, r["acks.unacked"].GetInt32());
            // XEP-0198 resume: the unacked queue is re-sent once.
            Assert.True(r["resumed"].GetBoolean());
            Assert.False(r["rebound"].GetBoolean());
            foreach (var i in new[] { 0, 1, 2 }) Assert.Equal(1, r[$"after_resume.while away {i}"].GetInt32());
            Assert.Equal(1, r["after_resume_delivered"].GetInt32());
        });
    }
}
