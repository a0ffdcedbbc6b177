using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody 0.12's own module files, copied unmodified from the Debian package into a temporary
/// plugin_paths directory, loaded by the real server process and used by a real slixmpp client.
/// A plugin-path file wins over a native module of the same name, so each test first checks that
/// the Lua file is what got loaded, then asserts what the user sees.
/// </summary>
public sealed class ProsodyModuleTests(ITestOutputHelper output)
{
    private static readonly string[] DefaultModules =
        ["roster", "saslauth", "tls", "disco", "ping", "register", "time", "version", "uptime", "offline"];

    private static async Task<ServerProcess> StartAsync(ITestOutputHelper output, ProsodyPluginDirectory plugins, string module,
        Action<ServerConfig>? configure = null)
    {
        return await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList([.. DefaultModules.Append(module).Distinct()]));
            configure?.Invoke(config);
        });
    }

    /// <summary>The module came from the plugin directory (LuaXmpp logs which file won the search).</summary>
    private static void AssertLoadedFromPlugins(ServerProcess server, ProsodyPluginDirectory plugins, string module)
    {
        if (server.Flavor.IsProsody) return;
        var expected = $"Loaded mod_{module} on {server.Host} from {Path.Combine(plugins.Path, $"mod_{module}.lua")}";
        server.Check(() => Assert.Contains(expected, server.LogTail(100_000)));
    }

    private async Task<(ServerProcess Server, ClientResult Result)> RunAsync(string module, string scenario, string[] files,
        Action<ServerConfig>? configure = null, bool peer = false, params string[] extra)
    {
        using var plugins = ProsodyPluginDirectory.With(files);
        var server = await StartAsync(output, plugins, module, configure);
        try
        {
            AssertLoadedFromPlugins(server, plugins, module);
            await server.RegisterAsync("alice", "pass-alice");
            List<string> arguments = ["--scenario", scenario, "--jid", server.Jid("alice"), "--password", "pass-alice"];
            if (peer)
            {
                await server.RegisterAsync("bob", "pass-bob");
                arguments.AddRange(["--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob"]);
            }
            var result = await PythonClient.RunAsync(server, "prosody_modules.py", [.. arguments, .. extra]);
            return (server, result);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task Ping_AnswersServerPing()
    {
        var (server, result) = await RunAsync("ping", "ping", ["mod_ping.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("type"));
            Assert.Equal(server.Host, r.String("from"));
        });
    }

    [Fact]
    public async Task Time_AnswersUtcTimeWithZeroOffset()
    {
        var (server, result) = await RunAsync("time", "time", ["mod_time.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("+00:00", r.String("time.tzo"));
            var utc = DateTimeOffset.Parse(r.String("time.utc")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(utc, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        });
    }

    [Fact]
    public async Task Version_AnswersProsodyNameAndServerVersion()
    {
        var (server, result) = await RunAsync("version", "version", ["mod_version.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            // mod_version names the software "Prosody" and reports prosody.version.
            Assert.Equal("Prosody", r.String("version.name"));
            Assert.False(string.IsNullOrEmpty(r.String("version.version")));
            Assert.False(string.IsNullOrEmpty(r.String("version.os")));
        });
    }

    [Fact]
    public async Task Uptime_AnswersSecondsSinceServerStart()
    {
        var (server, result) = await RunAsync("uptime", "uptime", ["mod_uptime.lua", "adhoc"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.InRange(int.Parse(r.String("seconds")!), 0, 600);
        });
    }

    [Fact]
    public async Task LastActivity_AnswersContact_WithLastStatus_AndForbidsStranger()
    {
        var (server, result) = await RunAsync("lastactivity", "lastactivity", ["mod_lastactivity.lua"], peer: true);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("forbidden", r.String("stranger.condition"));
            Assert.Equal("result", r.String("contact.type"));
            Assert.Equal("gone fishing", r.String("contact.text"));
            Assert.InRange(int.Parse(r.String("contact.seconds")!), 0, 60);
        });
    }

    [Fact]
    public async Task Private_StoresXml_AndReturnsItInALaterSession()
    {
        var (server, result) = await RunAsync("private", "private", ["mod_private.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("set"));
            Assert.Equal("green", r.String("colour"));
            Assert.Equal("one", r.String("item"));
            Assert.True(r["missing_echoed"].GetBoolean());
        });
    }

    [Fact]
    public async Task Motd_IsSentFromTheHost_OnLogin()
    {
        var (server, result) = await RunAsync("motd", "motd", ["mod_motd.lua"],
            c => c.Set("motd_text", ServerConfig.Lua("  Maintenance on Sunday  ")), false, "--expect-server-message");
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(server.Host, r.String("server_message.from"));
            Assert.StartsWith(server.Jid("alice") + "/", r.String("server_message.to"));
            Assert.Equal("Maintenance on Sunday", r.String("server_message.body"));
        });
    }

    [Fact]
    public async Task Welcome_IsDelivered_AfterInBandRegistration()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_welcome.lua");
        await using var server = await StartAsync(output, plugins, "welcome");
        AssertLoadedFromPlugins(server, plugins, "welcome");

        var login = await PythonClient.RunAsync(server, "prosody_modules.py", "--scenario", "welcome",
            "--jid", server.Jid("newbie"), "--password", "fresh-pass", "--expect-server-message");

        login.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("ok", r.String("registration"));
            Assert.Equal(server.Host, r.String("server_message.from"));
            Assert.Equal($"Hello newbie, welcome to the {server.Host} IM server!", r.String("server_message.body"));
        });
    }

    [Fact]
    public async Task Blocklist_BlockedContactIsNotDelivered_UntilUnblocked()
    {
        var (server, result) = await RunAsync("blocklist", "blocklist", ["mod_blocklist.lua"], peer: true);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("block"));
            Assert.Equal([server.Jid("bob")], r.Strings("list_after_block"));
            Assert.Empty(r["delivered_while_blocked"].EnumerateArray());
            Assert.Equal("result", r.String("unblock"));
            Assert.Empty(r.Strings("list_after_unblock"));
            Assert.Equal("welcome back", r.String("delivered_after_unblock"));
        });
    }

    [Fact]
    public async Task Carbons_SecondResourceGetsReceivedAndSentCopies()
    {
        var (server, result) = await RunAsync("carbons", "carbons", ["mod_carbons.lua"], peer: true);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("enable"));
            Assert.Equal(server.Jid("alice"), r.String("received_copy.from"));
            Assert.Equal("to the first resource", r.String("received_copy.inner_body"));
            Assert.Equal("from the first resource", r.String("sent_copy.inner_body"));
            Assert.Equal("result", r.String("disable"));
        });
    }

    [Fact]
    public async Task CsiSimple_AdvertisesCsi_AndAcceptsInactiveThenActive()
    {
        var (server, result) = await RunAsync("csi_simple", "csi_simple", ["mod_csi_simple.lua", "mod_csi.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.True(r["csi_feature"].GetBoolean());
            Assert.True(r["still_connected"].GetBoolean());
        });
    }

    [Fact]
    public async Task Offline_MessageToOfflineUser_IsDeliveredOnLogin_Once()
    {
        var (server, result) = await RunAsync("offline", "offline", ["mod_offline.lua"], peer: true);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("while you were away", r.String("received.body"));
            Assert.StartsWith(server.Jid("alice"), r.String("received.from"));
            Assert.Equal(server.Host, r.String("received.delay_from"));
            Assert.False(string.IsNullOrEmpty(r.String("received.delay_stamp")));
            Assert.False(r["redelivered"].GetBoolean());
        });
    }

    [Fact]
    public async Task Disco_ServerInfoListsIdentityAndFeatures()
    {
        var (server, result) = await RunAsync("disco", "disco", ["mod_disco.lua"]);
        await using var _ = server;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Contains(r["identities"].EnumerateArray(),
                i => i.GetProperty("category").GetString() == "server" && i.GetProperty("type").GetString() == "im");
            var features = r.Strings("features");
            Assert.Contains("http://jabber.org/protocol/disco#info", features);
            Assert.Contains("http://jabber.org/protocol/disco#items", features);
            Assert.Contains("urn:xmpp:ping", features);
            Assert.Contains("jabber:iq:version", features);
            Assert.Equal(features.Length, features.Distinct().Count());
            Assert.Contains(r["account_identities"].EnumerateArray(),
                i => i.GetProperty("category").GetString() == "account" && i.GetProperty("type").GetString() == "registered");
        });
    }
}
