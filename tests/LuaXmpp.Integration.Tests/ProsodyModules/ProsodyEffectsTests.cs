using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// One server for <see cref="ProsodyEffectsTests"/>: Prosody's csi, csi_simple,
/// server_contact_info, register_limits and (prosody-modules) cloud_notify, copied unmodified
/// from the Debian packages, with the server's own stream management (ours here, Prosody's own
/// mod_smacks on Prosody).
/// </summary>
public sealed class ProsodyEffectsServer : IAsyncLifetime
{
    public static readonly string[] Users = ["csia", "csib", "smia", "smib", "langa", "langb", "pusha", "pushb", "pushapp"];

    private static readonly string[] Modules =
        ["roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks",
         "csi", "csi_simple", "server_contact_info", "cloud_notify", "register_limits"];

    private ProsodyPluginDirectory? _plugins;

    public ServerProcess Server { get; private set; } = null!;

    public const string AdminAddress = "mailto:admin@example.org";

    public async Task InitializeAsync()
    {
        _plugins = ProsodyPluginDirectory.With("mod_csi.lua", "mod_csi_simple.lua", "mod_server_contact_info.lua",
            "mod_register_limits.lua", "mod_cloud_notify");
        Server = await ServerProcess.StartAsync(null, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(_plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(Modules));
            config.Set("contact_info", $"{{ admin = {ServerConfig.LuaList("xmpp:admin@localhost", AdminAddress)} }}");
            // Loopback is on mod_register_limits' default allowlist: empty it so the throttle applies.
            config.Set("registration_allowlist", "{}");
            config.Set("registration_throttle_max", "1");
            config.Set("registration_throttle_period", "300");
        });
        foreach (var user in Users) await Server.RegisterAsync(user, "pass-" + user);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _plugins?.Dispose();
    }
}

/// <summary>
/// Effects of Prosody modules that need the server's core, seen by a real slixmpp client
/// (clients/prosody_effects.py); the same scenarios pass against Prosody 0.12.3.
/// </summary>
public sealed class ProsodyEffectsTests(ProsodyEffectsServer fixture, ITestOutputHelper output) : IClassFixture<ProsodyEffectsServer>
{
    private ServerProcess Server => fixture.Server;

    private Task<ClientResult> RunAsync(string scenario, string a, string? b, params string[] extra)
    {
        output.WriteLine(Server.Describe());
        List<string> arguments = ["--scenario", scenario, "--jid", Server.Jid(a), "--password", "pass-" + a];
        if (b is not null) arguments.AddRange(["--peer-jid", Server.Jid(b), "--peer-password", "pass-" + b]);
        return PythonClient.RunAsync(Server, "prosody_effects.py", [.. arguments, .. extra]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CsiSimple_HoldsAContactsPresenceWhileInactive_FlushesInOrder(bool streamManagement)
    {
        var (a, b) = streamManagement ? ("smia", "smib") : ("csia", "csib");
        var result = await RunAsync("csi", a, b, streamManagement ? ["--smacks"] : []);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            // Held: not on the client's socket until the flush, and stamped by mod_csi_simple.
            Assert.False(r["by_message.early"].GetBoolean());
            Assert.Equal(Server.Jid(a), r.String("by_message.delay_from"));
            Assert.Equal(["presence:status one", "message:wake up"], r.Strings("order"));
            Assert.False(r["by_active.early"].GetBoolean());
            Assert.Equal(Server.Jid(a), r.String("by_active.delay_from"));
            Assert.False(r["by_activity.early"].GetBoolean());
            Assert.Equal(Server.Jid(a), r.String("by_activity.delay_from"));
            if (streamManagement) Assert.Equal(r["sent"].GetInt32(), r["acked"].GetInt32());
        });
    }

    [Fact]
    public async Task ServerContactInfo_FormAppearsInTheHostsDiscoInfo()
    {
        var result = await RunAsync("contact_info", "csia", null);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            var form = r["forms"].GetProperty("http://jabber.org/network/serverinfo");
            var admin = form.GetProperty("admin-addresses").EnumerateArray().Select(v => v.GetString() ?? "").ToArray();
            Assert.Equal(["xmpp:admin@localhost", ProsodyEffectsServer.AdminAddress], admin);
        });
    }

    [Fact]
    public async Task StreamLanguage_IsStampedOnStanzasWithoutOne()
    {
        var result = await RunAsync("xml_lang", "langa", "langb");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("fr", r.String("langs.bonjour"));
            Assert.Equal("de", r.String("langs.hallo"));
        });
    }

    [Fact]
    public async Task CloudNotify_PushesWhileHibernating_ThenTheSessionResumesWithItsQueue()
    {
        var result = await RunAsync("cloud_notify", "pusha", "pushb",
            "--push-jid", Server.Jid("pushapp"), "--push-password", "pass-pushapp");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            var push = r["pushes"].EnumerateArray().First();
            Assert.Equal(Server.Host, push.GetProperty("from").GetString());
            Assert.Equal("node-1", push.GetProperty("node").GetString());
            Assert.Equal("1", push.GetProperty("fields").GetProperty("message-count")[0].GetString());
            Assert.True(r["resumed"].GetBoolean());
            Assert.Equal(["while you were cut off"], r.Strings("received"));
        });
    }

    [Fact]
    public async Task RegisterLimits_SecondRegistrationFromTheSameAddress_IsThrottled()
    {
        var first = await PythonClient.RunAsync(Server, "register.py", "--jid", Server.Jid("fresh1"), "--password", "pw-fresh1");
        var second = await PythonClient.RunAsync(Server, "register.py", "--jid", Server.Jid("fresh2"), "--password", "pw-fresh2");

        first.Check(r => Assert.Equal("ok", r.String("registration")));
        // mod_register_limits' "throttled" error: wait / policy-violation.
        second.Check(r =>
        {
            Assert.Equal("policy-violation", r.String("registration"));
            Assert.Equal("wait", r.String("registration_error_type"));
        });
    }
}

/// <summary>
/// Prosody's mod_limits, unmodified, on its own server (it slows every client): the connection's
/// reader is paced to the configured rate (conn:setlimit), other clients are not.
/// </summary>
public sealed class ProsodyLimitsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Limits_SlowsAFloodToTheConfiguredRate_OtherClientsStayResponsive()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_limits.lua");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "limits"));
            config.Set("limits", "{ c2s = { rate = \"1kb/s\"; burst = \"1s\" } }");
        });
        await server.RegisterAsync("flooder", "pass-flooder");
        await server.RegisterAsync("bystander", "pass-bystander");

        var result = await PythonClient.RunAsync(server, "prosody_effects.py", "--scenario", "limits",
            "--jid", server.Jid("flooder"), "--password", "pass-flooder",
            "--peer-jid", server.Jid("bystander"), "--peer-password", "pass-bystander",
            "--flood-bytes", "10000", "--step-timeout", "30", "--timeout", "40");
        output.WriteLine(result.Command.Stdout);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(10, r["flood_messages"].GetInt32());
            // 10 kB at 1000 bytes/s: the server reads the flood over several seconds.
            Assert.True(r["flood_seconds"].GetDouble() > 5, $"the flood took {r["flood_seconds"]} s");
            // The bystander's ping, sent while the flood was still being read, is not held up by it.
            Assert.False(r["flood_done_at_ping"].GetBoolean());
            Assert.True(r["peer_ping_seconds"].GetDouble() < r["flood_seconds"].GetDouble() / 2,
                $"the bystander's ping took {r["peer_ping_seconds"]} s");
        });
    }
}
