using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>The prosodyctl-compatible administrative commands of the server binary.</summary>
public sealed class CliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task CheckConfig_ExitsZero_ForValidConfig()
    {
        await using var server = await ServerProcess.CreateAsync(output);

        var result = await server.RunCliAsync("check", "config");

        server.Check(() => Assert.True(result.ExitCode == 0, result.ToString()));
    }

    [Fact]
    public async Task CheckConfig_ExitsOne_ForBrokenConfig()
    {
        await using var server = await ServerProcess.CreateAsync(output);
        await File.AppendAllTextAsync(server.ConfigPath, "\nthis is = = not lua {\n");

        var result = await server.RunCliAsync("check", "config");

        server.Check(() => Assert.True(result.ExitCode == 1, result.ToString()));
    }

    [Fact]
    public async Task CheckConfig_LoadsDebiansDefaultConfig_AndFindsEveryModuleItNames()
    {
        // The prosody package is a test fixture (scripts/test.sh installs it); its config must load
        // as it is, and every module it names is found (Prosody's own files among them, in
        // /usr/lib/prosody/modules, which its plugin_paths does not name).
        const string debian = "/etc/prosody/prosody.cfg.lua";
        Assert.True(File.Exists(debian), $"{debian} is missing: install the Debian 'prosody' package");

        var result = await ChildProcess.RunAsync("dotnet", [ServerFlavor.LuaXmppDll, "--config", debian, "check", "config"],
            Path.GetTempPath(), TimeSpan.FromSeconds(60), null);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Config OK", result.Stdout);
        Assert.DoesNotContain("could not be found", result.Stdout);
    }

    [Fact]
    public async Task About_ExitsZero_AndNamesTheServer()
    {
        await using var server = await ServerProcess.CreateAsync(output);

        var result = await server.RunCliAsync("about");

        server.Check(() =>
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.False(string.IsNullOrWhiteSpace(result.Stdout), result.ToString());
        });
    }

    [Fact]
    public async Task AddUser_ReadsPasswordTwiceFromStdin_AndAccountCanLogIn()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await server.RunCliAsync(["adduser", server.Jid("added")], "typed-pass\ntyped-pass\n");
        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("added"), "--password", "typed-pass");

        server.Check(() => Assert.True(result.ExitCode == 0, result.ToString()));
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task AddUser_Fails_WhenPasswordsDiffer()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await server.RunCliAsync(["adduser", server.Jid("added")], "one-pass\nother-pass\n");
        var login = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("added"), "--password", "one-pass", "--mech", "PLAIN", "--expect-failure");

        server.Check(() => Assert.True(result.ExitCode != 0, result.ToString()));
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task Passwd_ReplacesPassword()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("changer", "old-pass");

        var result = await server.RunCliAsync(["passwd", server.Jid("changer")], "new-pass\nnew-pass\n");
        var withNew = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("changer"), "--password", "new-pass");
        var withOld = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("changer"), "--password", "old-pass", "--mech", "PLAIN", "--expect-failure");

        server.Check(() => Assert.True(result.ExitCode == 0, result.ToString()));
        withNew.Check(r => Assert.True(r.Ok));
        withOld.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task DelUser_RemovesAccount()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("leaver", "leaver-pass");

        var result = await server.RunCliAsync("deluser", server.Jid("leaver"));
        var login = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("leaver"), "--password", "leaver-pass", "--mech", "PLAIN", "--expect-failure");

        server.Check(() => Assert.True(result.ExitCode == 0, result.ToString()));
        login.Check(r => Assert.Equal(["not-authorized"], r.Strings("auth_failures")));
    }

    [Fact]
    public async Task CertGenerate_WritesCertificateAndKey_ForHost()
    {
        await using var server = await ServerProcess.CreateAsync(output);

        var result = await server.RunCliAsync("cert", "generate", server.Host);

        var certs = Path.Combine(server.Directory, "certs");
        server.Check(() =>
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            var pem = Directory.Exists(certs)
                ? Directory.GetFiles(certs).Select(File.ReadAllText).ToList()
                : [];
            Assert.Contains(pem, text => text.Contains("-----BEGIN CERTIFICATE-----"));
            Assert.Contains(pem, text => text.Contains("PRIVATE KEY-----"));
        });
    }
}
