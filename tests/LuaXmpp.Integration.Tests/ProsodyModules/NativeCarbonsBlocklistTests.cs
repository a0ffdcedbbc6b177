using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Our native mod_carbons and mod_blocklist (src/Core/Modules/Native) against Prosody 0.12's own
/// files for the same scenarios: each test runs once with Prosody's file on plugin_paths (which
/// then wins) and once with ours, and expects exactly what a client sees from Prosody's.
/// </summary>
public sealed class NativeCarbonsBlocklistTests(ITestOutputHelper output)
{
    private async Task<ServerProcess> StartAsync(string module, bool prosodyFile, ProsodyPluginDirectory plugins)
    {
        var server = await ServerProcess.StartAsync(output, config =>
        {
            if (prosodyFile) config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(
                ["roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks", module]));
        });
        if (!server.Flavor.IsProsody)
        {
            var fromFile = $"Loaded mod_{module} on {server.Host} from {Path.Combine(plugins.Path, $"mod_{module}.lua")}";
            server.Check(() =>
            {
                if (prosodyFile) Assert.Contains(fromFile, server.LogTail(100_000));
                else Assert.DoesNotContain($"Loaded mod_{module} on {server.Host} from", server.LogTail(100_000));
            });
        }
        return server;
    }

    private async Task<ClientResult> RunAsync(ServerProcess server, string scenario)
    {
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        return await PythonClient.RunAsync(server, "prosody_modules.py", "--scenario", scenario,
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Carbons_CopyRules_AsProsody(bool prosodyFile)
    {
        using var plugins = ProsodyPluginDirectory.With("mod_carbons.lua");
        await using var server = await StartAsync("carbons", prosodyFile, plugins);
        var result = await RunAsync(server, "carbons_rules");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("enable"));
            // private and no-copy hints and headlines are not copied; chat and normal with a body are.
            Assert.Equal(["normal with body", "marker"], r.Strings("received_carbons"));
            // The recipient gets the private message, without the <private/> hint.
            Assert.Equal(1, r["private_delivered"].GetInt32());
            Assert.False(r["private_hint_left"].GetBoolean());
            Assert.Equal(["sent marker"], r.Strings("sent_carbons"));
        });
    }

    [Fact]
    public async Task Carbons_Native_NoDuplicateToTheReceivingResource()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_carbons.lua");
        await using var server = await StartAsync("carbons", prosodyFile: false, plugins);
        await ProsodyCoreModuleTests.RunCoreScenarioAsync(server);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Blocklist_PushesBouncesAndDrops_AsProsody(bool prosodyFile)
    {
        using var plugins = ProsodyPluginDirectory.With("mod_blocklist.lua");
        await using var server = await StartAsync("blocklist", prosodyFile, plugins);
        var result = await RunAsync(server, "blocklist_rules");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("block"));
            // To the bare JID a blocked sender's chat bounces; to an online full JID it is dropped.
            Assert.Equal("service-unavailable", r.String("bare_bounce"));
            Assert.Equal(1, r["errors_at_b"].GetInt32());
            Assert.Equal(0, r["delivered_while_blocked"].GetInt32());
            Assert.Equal("not-acceptable", r.String("outgoing_error"));
            Assert.True(r["outgoing_blocked_child"].GetBoolean());
            Assert.Equal("result", r.String("unblock_all"));
            Assert.Empty(r.Strings("list_after_unblock"));
            Assert.Equal("after", r.String("delivered_after"));
            // The resource that asked for the list got both changes.
            var pushes = r["pushes"].EnumerateArray().Select(p => p[0].GetString() + ":" + string.Join(",", p[1].EnumerateArray().Select(j => j.GetString()))).ToArray();
            Assert.Equal(["block:" + server.Jid("bob"), "unblock:"], pushes);
        });
    }
}
