using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>
/// Operator mistakes from issue 14's list, each against the real binary: the one line that
/// names the option or port and the documented exit code (README "Exit codes"), in
/// <c>check config</c> and at start.
/// </summary>
public sealed class OperatorErrorTests(ITestOutputHelper output)
{
    private const int Failed = 1, Usage = 2, BadConfig = 3, Unusable = 4;

    private static string Bare(string? listLiteral) => listLiteral!.Trim('{', '}', ' ');

    [Fact]
    public async Task ScalarPortsAndInterface_AreListenedOn()
    {
        // c2s_ports = 5222 and interfaces = "127.0.0.1" are valid in Prosody: a number and a string, not lists.
        await using var server = await ServerProcess.StartAsync(output, c => c
            .Set("c2s_ports", Bare(c.Get("c2s_ports")))
            .Set("c2s_direct_tls_ports", $"\"{Bare(c.Get("c2s_direct_tls_ports"))}\"")
            .Set("interfaces", ServerConfig.Lua("127.0.0.1")));
        await server.RegisterAsync("scalar", "scalar-pass");

        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("scalar"), "--password", "scalar-pass");

        login.Check(r => Assert.True(r.Ok));
        server.Check(() => Assert.Contains($"Listening on 127.0.0.1:{server.DirectTlsPort} (direct TLS)", server.LogTail(400)));
    }

    [Fact]
    public async Task SecondServerOnTheSamePorts_IsRefusedNamingThePort_AndTheFirstKeepsServing()
    {
        await using var first = await ServerProcess.StartAsync(output);
        await first.RegisterAsync("stays", "stays-pass");
        await using var second = await ServerProcess.CreateAsync(output, c => c
            .Set("c2s_ports", $"{{ {first.C2sPort} }}")
            .Set("c2s_direct_tls_ports", $"{{ {first.DirectTlsPort} }}"));

        var check = await second.RunCliAsync("check", "config");
        var result = await OperatorAssert.StartAsync(second);
        var logins = new List<ClientResult>();
        for (var i = 0; i < 4; i++)
            logins.Add(await PythonClient.RunAsync(first, "login.py", "--jid", first.Jid("stays"), "--password", "stays-pass"));

        second.Check(() =>
        {
            OperatorAssert.OneLine(result, Unusable, "c2s_ports", $"port {first.C2sPort}", "already in use");
            Assert.Contains($"warning: c2s_ports: port {first.C2sPort} on 127.0.0.1 is already in use", check.Stdout);
        });
        Assert.All(logins, l => l.Check(r => Assert.True(r.Ok)));
    }

    [Theory]
    [InlineData("\"abc\"", "\"abc\"")]
    [InlineData("70000", "70000")]
    [InlineData("{ 5222, 0 }", "0")]
    public async Task InvalidPort_IsOneLineNamingTheOption(string value, string shown)
    {
        await using var server = await ServerProcess.CreateAsync(output, c => c.Set("c2s_ports", value));

        await AssertCheckAndStartAsync(server, BadConfig, "c2s_ports", shown, "not a port number");
    }

    [Fact]
    public async Task DataPathThatIsAFile_IsOneLine_ForCheckStartAndRegister()
    {
        await using var server = await ServerProcess.CreateAsync(output);
        var file = Path.Combine(server.Directory, "not-a-dir");
        await File.WriteAllTextAsync(file, "x");
        server.Config.Set("data_path", ServerConfig.Lua(file));
        await server.WriteConfigAsync();

        await AssertCheckStartAndRegisterAsync(server, BadConfig, "data_path", file, "is a file");
    }

    [Fact]
    public async Task UnwritableDataPath_IsOneLine_ForCheckStartAndRegister()
    {
        // /sys/kernel is a directory even root cannot create files in (the tests run as root).
        const string unwritable = "/sys/kernel";
        await using var server = await ServerProcess.CreateAsync(output, c => c.Set("data_path", ServerConfig.Lua(unwritable)));

        await AssertCheckStartAndRegisterAsync(server, Unusable, "data_path", unwritable, "not writable");
    }

    // The same line from check config (exit 1) and at start (the given code).
    private static async Task AssertCheckAndStartAsync(ServerProcess server, int exitCode, params string[] mentions)
    {
        var check = await server.RunCliAsync("check", "config");
        var start = await OperatorAssert.StartAsync(server);

        server.Check(() =>
        {
            OperatorAssert.OneLine(check, Failed, mentions);
            OperatorAssert.OneLine(start, exitCode, mentions);
        });
    }

    // ... and from register, which opens data_path too.
    private static async Task AssertCheckStartAndRegisterAsync(ServerProcess server, int exitCode, params string[] mentions)
    {
        await AssertCheckAndStartAsync(server, exitCode, mentions);
        var register = await server.RunCliAsync("register", "someone", server.Host, "pass");

        server.Check(() => OperatorAssert.OneLine(register, exitCode, mentions));
    }

    [Fact]
    public async Task MissingConfiguredCertificate_IsAnError_InCheckAndAtStart()
    {
        await using var server = await ServerProcess.CreateAsync(output, c => c
            .Set("ssl", "{ certificate = \"certs/gone.crt\", key = \"certs/gone.key\" }"));
        var missing = Path.Combine(server.Directory, "certs", "gone.crt");

        await AssertCheckAndStartAsync(server, Unusable, "ssl.certificate", missing, "no such file");
    }

    [Fact]
    public async Task PluginPathsOnProsodysModules_CheckNamesTheCoreModulesItReplaces_AndTheServerStartsClean()
    {
        const string prosodyModules = "/usr/lib/prosody/modules";
        Assert.True(Directory.Exists(prosodyModules), "install the Debian 'prosody' package");
        await using var server = await ServerProcess.CreateAsync(output, c => c.Set("plugin_paths", ServerConfig.LuaList(prosodyModules)));

        var check = await server.RunCliAsync("check", "config");
        await server.StartAsync();
        await server.RegisterAsync("plugged", "plugged-pass");
        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("plugged"), "--password", "plugged-pass");

        server.Check(() =>
        {
            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.Matches("warning: plugin_paths: /usr/lib/prosody/modules holds Prosody core modules .*core wins.*mod_c2s\\.lua.*mod_tls\\.lua", check.Stdout);
            Assert.DoesNotContain("Error loading module 'c2s'", server.LogTail(2000));
            Assert.DoesNotContain("Error loading module 'tls'", server.LogTail(2000));
        });
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task CertGenerate_RefusesToOverwrite_WithoutForce()
    {
        await using var server = await ServerProcess.CreateAsync(output);
        var first = await server.RunCliAsync("cert", "generate", server.Host);
        var crt = Path.Combine(server.Directory, "certs", server.Host + ".crt");
        var original = await File.ReadAllTextAsync(crt);

        var again = await server.RunCliAsync("cert", "generate", server.Host);
        var kept = await File.ReadAllTextAsync(crt);
        var forced = await server.RunCliAsync("cert", "generate", server.Host, "--force");
        var replaced = await File.ReadAllTextAsync(crt);

        server.Check(() =>
        {
            Assert.True(first.ExitCode == 0, first.ToString());
            OperatorAssert.OneLine(again, Failed, crt, "already exist", "--force");
            Assert.Equal(original, kept);
            Assert.True(forced.ExitCode == 0, forced.ToString());
            Assert.NotEqual(original, replaced);
        });
    }

    [Fact]
    public async Task UnknownCommand_ExitsTwo_EvenWithoutAConfig()
    {
        var directory = Directory.CreateTempSubdirectory("luaxmpp-itest-").FullName;
        try
        {
            var result = await ChildProcess.RunAsync("dotnet", [ServerFlavor.LuaXmppDll, "--config", "absent.cfg.lua", "frobnicate"],
                directory, TimeSpan.FromSeconds(60));

            OperatorAssert.OneLine(result, Usage, "Unknown command 'frobnicate'");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AddUser_OnATerminal_DoesNotEchoThePassword()
    {
        await using var server = await ServerProcess.CreateAsync(output);
        const string password = "echo-me-not-4711";
        var (fileName, arguments) = server.Flavor.CliCommand(server.ConfigPath, ["adduser", server.Jid("tty")]);

        // A pseudo-terminal, as an operator's shell gives: the typed password must not come back.
        var result = await ChildProcess.RunAsync("python3", ["-c", PtyScript, password, fileName, .. arguments],
            server.Directory, TimeSpan.FromSeconds(90));
        await server.StartAsync();
        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("tty"), "--password", password);

        server.Check(() =>
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("Enter new password", result.Stdout);
            Assert.DoesNotContain(password, result.Stdout);
        });
        login.Check(r => Assert.True(r.Ok));
    }

    // Runs argv[2:] on a pty, answers each "password:" prompt with argv[1] and a carriage return,
    // prints what the terminal showed and exits with the command's exit code.
    private const string PtyScript = """
        import os, pty, select, sys, time
        password = sys.argv[1].encode()
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp(sys.argv[2], sys.argv[2:])
        shown, answered, deadline = b"", 0, time.time() + 80
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                shown += data
            if answered < 2 and shown.lower().count(b"password:") > answered:
                time.sleep(0.3)
                os.write(fd, password + b"\r")
                answered += 1
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(shown.decode(errors="replace"))
        sys.exit(os.waitstatus_to_exitcode(status))
        """;
}
