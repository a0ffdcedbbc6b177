using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>The admin shell over the unix socket (Prosody's adminstream protocol), driven by luaxmpp shell and by Debian's prosodyctl shell.</summary>
public sealed class ShellTests(ITestOutputHelper output)
{
    private static Task<ServerProcess> StartWithShellAsync(ITestOutputHelper output) => ServerProcess.StartAsync(output, c => c.Set("modules_enabled",
        ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "time", "version", "uptime", "offline", "admin_shell"))
        .Set("statistics", ServerConfig.Lua("internal")));

    [Fact]
    public async Task LuaxmppShell_ShowsSessions_ManagesModulesAndUsers()
    {
        await using var server = await StartWithShellAsync(output);
        await server.RegisterAsync("watched", "watched-pass");
        await using var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        var jid = await client.LoginAsync(server.Host, "watched", "watched-pass", resource: "desk");

        var show = await server.RunCliAsync("shell", "c2s:show()");
        var version = await server.RunCliAsync("shell", "server", "version");
        var unload = await server.RunCliAsync("shell", "module", "unload", "time", server.Host);
        await client.SendAsync($"<iq type='get' id='t1' to='{server.Host}'><time xmlns='urn:xmpp:time'/></iq>");
        var time = await client.WaitForAsync(e => (string?)e.Attribute("id") == "t1", "time reply");
        var list = await server.RunCliAsync("shell", $"module:list(\"{server.Host}\")");
        var create = await server.RunCliAsync("shell", $"user:create(\"made@{server.Host}\", \"made-pass\")");
        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("made"), "--password", "made-pass");
        var close = await server.RunCliAsync("shell", $"c2s:close(\"{server.Jid("watched")}\")");
        var (closed, _) = await client.ReadToEndAsync(TimeSpan.FromSeconds(20));
        var wrong = await server.RunCliAsync("shell", "server:frobnicate()");
        var stats = await server.RunCliAsync("shell", "stats:show(\"^luaxmpp_\")");

        server.Check(() =>
        {
            Assert.True(show.ExitCode == 0, show.ToString());
            Assert.Contains(jid, show.Stdout);
            Assert.Contains("1 c2s sessions shown", show.Stdout);
            Assert.True(version.ExitCode == 0 && version.Stdout.Contains("LuaXmpp"), version.ToString());
            Assert.True(unload.ExitCode == 0, unload.ToString());
            Assert.Equal("error", (string?)time.Attribute("type"));
            Assert.DoesNotContain("    time\n", list.Stdout);
            Assert.Contains("    version", list.Stdout);
            Assert.True(create.ExitCode == 0, create.ToString());
            Assert.True(close.ExitCode == 0 && close.Stdout.Contains("1 sessions closed"), close.ToString());
            Assert.True(closed, "c2s:close ends the client's connection");
            OperatorAssert.OneLine(wrong, 1, "Unknown command server:frobnicate()");
            // Prosody 0.12's stats:show(pattern): families matching a Lua pattern, one line per metric.
            Assert.True(stats.ExitCode == 0, stats.ToString());
            Assert.Matches(@"(?m)^luaxmpp_c2s_sessions$", stats.Stdout);
            Assert.Matches(@"(?m)^  state=bound +[0-9]+$", stats.Stdout);
            Assert.Matches(@"(?m)^  path=process +[1-9][0-9]* \(", stats.Stdout);
            Assert.Matches(@"(?m)^luaxmpp_lua_dispatch_seconds +[0-9.e-]+ seconds", stats.Stdout);
            Assert.DoesNotContain("process_resident_memory", stats.Stdout);
            Assert.Matches(@"[0-9]+ statistics displayed", stats.Stdout);
        });
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task ProsodyctlShell_FromDebian_TalksToOurSocket()
    {
        await using var server = await StartWithShellAsync(output);

        // --root: prosodyctl would otherwise switch to the prosody user, who cannot enter the test directory.
        var result = await ChildProcess.RunAsync("prosodyctl", ["--root", "--config", server.ConfigPath, "shell", "server:version()"],
            server.Directory, TimeSpan.FromSeconds(60));
        var hosts = await ChildProcess.RunAsync("prosodyctl", ["--root", "--config", server.ConfigPath, "shell", "host", "list"],
            server.Directory, TimeSpan.FromSeconds(60));
        var stats = await ChildProcess.RunAsync("prosodyctl", ["--root", "--config", server.ConfigPath, "shell", "stats:show('^process_')"],
            server.Directory, TimeSpan.FromSeconds(60));

        server.Check(() =>
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("LuaXmpp", result.Stdout);
            Assert.True(hosts.ExitCode == 0, hosts.ToString());
            Assert.Contains(server.Host, hosts.Stdout);
            Assert.True(stats.ExitCode == 0, stats.ToString());
            Assert.Matches(@"(?m)^process_resident_memory_bytes +[1-9][0-9]* bytes", stats.Stdout);
            Assert.Contains("statistics displayed", stats.Stdout);
        });
    }
}
