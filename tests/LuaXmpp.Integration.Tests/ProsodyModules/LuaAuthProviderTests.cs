using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's auth modules, copied unmodified from the Debian package, chosen the operator's way
/// with <c>authentication = "..."</c>: the C# SASL code asks the Lua provider.
/// </summary>
public sealed class LuaAuthProviderTests(ITestOutputHelper output)
{
    private static Task<ServerProcess> StartAsync(ITestOutputHelper output, ProsodyPluginDirectory plugins, string provider,
        params (string Name, string Value)[] options) =>
        ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("authentication", ServerConfig.Lua(provider));
            foreach (var (name, value) in options) config.Set(name, value);
        });

    [Fact]
    public async Task Insecure_AcceptsAnyPassword_OverPlain_AsOnProsody()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_auth_insecure.lua");
        await using var server = await StartAsync(output, plugins, "insecure",
            ("insecure_open_authentication", ServerConfig.Lua("Yes please, I know what I'm doing!")));

        var result = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("anyone"), "--password", "whatever-they-typed");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("PLAIN", r.String("mechanism"));
            // The provider's SASL handler has only a plain_test backend: PLAIN is all that is offered.
            Assert.Equal(["PLAIN"], r.Strings("mechanisms_offered"));
            Assert.StartsWith(server.Jid("anyone") + "/", r.String("bound_jid"));
        });
    }

    [Fact]
    public async Task Anonymous_LogsInOverSaslAnonymous_WithARandomNode_AsOnProsody()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_auth_anonymous.lua");
        await using var server = await StartAsync(output, plugins, "anonymous");

        var first = await PythonClient.RunAsync(server, "login.py", "--jid", server.Host, "--password", "", "--mech", "ANONYMOUS");
        var second = await PythonClient.RunAsync(server, "login.py", "--jid", server.Host, "--password", "", "--mech", "ANONYMOUS");

        string Node(ClientResult r) => r.String("bound_jid")!.Split('@')[0];
        first.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("ANONYMOUS", r.String("mechanism"));
            Assert.Equal(["ANONYMOUS"], r.Strings("mechanisms_offered"));
            Assert.Matches("^[a-z0-9_-]{6,}@" + System.Text.RegularExpressions.Regex.Escape(server.Host) + "/", r.String("bound_jid"));
        });
        second.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.NotEqual(Node(first), Node(r));
        });
    }

    [Fact]
    public async Task Ldap_WithoutItsLibrary_LoginFailsAndTheLogSaysWhy()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_auth_ldap.lua");
        await using var server = await StartAsync(output, plugins, "ldap", ("ldap_server", ServerConfig.Lua("127.0.0.1:1")));

        var result = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("juliet"), "--password", "r0m30", "--step-timeout", "3");

        // As on Prosody: the stream stays up, but no SASL mechanism is offered, so nobody logs in.
        result.Check(r =>
        {
            Assert.False(r["authenticated"].GetBoolean());
            Assert.Empty(r.Strings("mechanisms_offered"));
        });
        // lualdap is not installed here (nor packaged for Lua 5.4): the module cannot load, on Prosody too.
        server.Check(() => Assert.Contains("lualdap", server.LogTail(100_000)));
    }

    [Fact]
    public async Task Register_FromTheCli_WithALuaProvider_SaysWhyItCannot()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_auth_insecure.lua");
        await using var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("authentication", ServerConfig.Lua("insecure"));
            config.Set("insecure_open_authentication", ServerConfig.Lua("Yes please, I know what I'm doing!"));
        });
        if (server.Flavor.IsProsody) return; // prosodyctl's own wording differs

        var cli = await server.RunCliAsync("register", "juliet", server.Host, "r0m30");

        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("mod_auth_insecure", cli.Stderr);
        Assert.DoesNotContain("Exception", cli.Stderr + cli.Stdout);

        // adduser says so before asking for a password (no stdin given here).
        var adduser = await server.RunCliAsync("adduser", server.Jid("juliet"));
        Assert.Equal(1, adduser.ExitCode);
        Assert.Contains("mod_auth_insecure", adduser.Stderr);
        Assert.DoesNotContain("password", adduser.Stdout + adduser.Stderr, StringComparison.OrdinalIgnoreCase);
    }
}
