using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>
/// The running server as an operator drives it: pidfile, status/reload/stop, SIGHUP (log
/// reopen under load, modules loaded and unloaded live), systemd readiness, the info lines.
/// </summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    private static string PidFilePath(ServerProcess server) => Path.Combine(server.DataPath, "luaxmpp.pid");

    // The pidfile is written right after the ports open, which is when the fixture sees the server up.
    private static async Task<int> PidAsync(ServerProcess server)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (File.Exists(PidFilePath(server)) && int.TryParse((await File.ReadAllTextAsync(PidFilePath(server))).Trim(), out var pid)) return pid;
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException($"no pidfile at {PidFilePath(server)}\n{server.Describe()}");
    }

    private static async Task WaitForLogAsync(ServerProcess server, string text, int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (CountInLog(server, text) < count)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new Xunit.Sdk.XunitException($"log never showed '{text}' {count} time(s)\n{server.Describe()}");
            await Task.Delay(100);
        }
    }

    private static int CountInLog(ServerProcess server, string text)
    {
        if (!File.Exists(server.LogPath)) return 0;
        using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var all = new StreamReader(stream).ReadToEnd();
        var n = 0;
        for (var i = all.IndexOf(text, StringComparison.Ordinal); i >= 0; i = all.IndexOf(text, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public async Task Pidfile_Status_Stop()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var pid = await PidAsync(server);
        await WaitForLogAsync(server, "started (PID");

        var running = await server.RunCliAsync("status");
        var stop = await server.RunCliAsync("stop");
        var stopped = await server.RunCliAsync("status");
        var stopAgain = await server.RunCliAsync("stop");

        server.Check(() =>
        {
            Assert.True(running.ExitCode == 0, running.ToString());
            Assert.Contains($"running with PID {pid}", running.Stdout);
            Assert.True(stop.ExitCode == 0, stop.ToString());
            Assert.Equal(0, server.ExitCode);
            Assert.False(File.Exists(PidFilePath(server)), "the pidfile is removed at stop");
            Assert.True(stopped.ExitCode == 1, stopped.ToString());
            Assert.Contains("not running", stopped.Stdout);
            OperatorAssert.OneLine(stopAgain, 1, "not running");
        });
    }

    [Fact]
    public async Task Reload_AppliesModulesEnabledChanges_Live_AndKeepsTheSession()
    {
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("modules_enabled", ServerConfig.LuaList(
            "roster", "saslauth", "tls", "disco", "ping", "register", "time", "uptime", "offline")));
        await server.RegisterAsync("operator", "operator-pass");
        await using var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(server.Host, "operator", "operator-pass");

        var versionBefore = await AskAsync(client, server.Host, "v1", "jabber:iq:version");
        var timeBefore = await AskAsync(client, server.Host, "t1", "urn:xmpp:time");
        server.Config.Set("modules_enabled", ServerConfig.LuaList(
            "roster", "saslauth", "tls", "disco", "ping", "register", "version", "uptime", "offline"));
        await server.WriteConfigAsync();
        var reload = await server.RunCliAsync("reload");
        await WaitForLogAsync(server, "Config reloaded");
        var versionAfter = await AskAsync(client, server.Host, "v2", "jabber:iq:version");
        var timeAfter = await AskAsync(client, server.Host, "t2", "urn:xmpp:time");
        var disco = await client.PingAsync(server.Host, "still-here");

        server.Check(() =>
        {
            Assert.True(reload.ExitCode == 0, reload.ToString());
            Assert.Equal("error", versionBefore);
            Assert.Equal("result", timeBefore);
            Assert.Equal("result", versionAfter);
            Assert.Equal("error", timeAfter);
            Assert.True(disco, "the session survives the reload");
            Assert.Contains("Modules loaded on " + server.Host + ": version", server.LogTail(400));
            Assert.Contains("Modules unloaded from " + server.Host + ": time", server.LogTail(400));
        });
    }

    private static async Task<string?> AskAsync(XmppSocketClient client, string host, string id, string ns)
    {
        await client.SendAsync($"<iq type='get' id='{id}' to='{host}'><query xmlns='{ns}'/></iq>".Replace("<query xmlns='urn:xmpp:time'/>", "<time xmlns='urn:xmpp:time'/>"));
        var reply = await client.WaitForAsync(e => (string?)e.Attribute("id") == id, $"reply to {ns}");
        return (string?)reply.Attribute("type");
    }

    [Fact]
    public async Task LogrotateStyleHangUp_UnderLoad_LosesNoMessage_DropsNoSession_AndReopensTheLog()
    {
        await using var server = await ServerProcess.StartAsync(output);
        const int pairs = 3, messages = 150;
        var clients = new List<XmppSocketClient>();
        for (var i = 0; i < pairs * 2; i++)
        {
            await server.RegisterAsync($"chat{i}", "chat-pass");
            var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
            await client.LoginAsync(server.Host, $"chat{i}", "chat-pass", resource: "r");
            clients.Add(client);
        }

        var senders = Enumerable.Range(0, pairs).Select(p => SendAsync(clients[2 * p], server.Jid($"chat{2 * p + 1}") + "/r", messages)).ToArray();
        var receivers = Enumerable.Range(0, pairs).Select(p => ReceiveAsync(clients[2 * p + 1], messages)).ToArray();
        var rotated = new List<string>();
        for (var round = 1; round <= 3; round++)
        {
            await Task.Delay(150);
            var moved = server.LogPath + "." + round;
            File.Move(server.LogPath, moved);
            rotated.Add(moved);
            var reload = await server.RunCliAsync("reload");
            Assert.True(reload.ExitCode == 0, reload.ToString());
            await WaitForLogAsync(server, "Config reloaded");
        }
        await Task.WhenAll(senders);
        var received = await Task.WhenAll(receivers);
        var alive = new List<bool>();
        for (var i = 0; i < clients.Count; i++) alive.Add(await clients[i].PingAsync(server.Host, $"alive{i}"));

        server.Check(() =>
        {
            Assert.All(received, r => Assert.Equal(Enumerable.Range(0, messages).Select(n => $"m{n}"), r));
            Assert.All(alive, Assert.True);
            Assert.Contains("Config reloaded", server.LogTail(50));
            Assert.DoesNotContain(" error ", File.ReadAllText(server.LogPath));
        });
        foreach (var c in clients) await c.DisposeAsync();
        foreach (var r in rotated) File.Delete(r);
    }

    private static async Task SendAsync(XmppSocketClient from, string to, int count)
    {
        for (var n = 0; n < count; n++)
        {
            await from.SendAsync($"<message type='chat' to='{to}' id='m{n}'><body>m{n}</body></message>");
            if (n % 10 == 0) await Task.Delay(5);
        }
    }

    private static async Task<List<string>> ReceiveAsync(XmppSocketClient to, int count)
    {
        var bodies = new List<string>();
        while (bodies.Count < count)
        {
            var message = await to.WaitForAsync(e => e.Name.LocalName == "message", $"message {bodies.Count}", TimeSpan.FromSeconds(60));
            if (message.Elements().FirstOrDefault(e => e.Name.LocalName == "body") is { } body) bodies.Add(body.Value);
        }
        return bodies;
    }

    [Fact]
    public async Task InfoLog_NamesTlsVersionAndCipher_AndDisconnectReason()
    {
        // Info level, as an operator runs it: the lines must be there without debug.
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("log", c.Get("log")!.Replace("debug =", "info =")));
        await server.RegisterAsync("leaving", "leaving-pass");

        await using (var client = await XmppSocketClient.ConnectAsync(server.C2sPort))
        {
            await client.LoginAsync(server.Host, "leaving", "leaving-pass");
        }
        await WaitForLogAsync(server, "Client disconnected:");

        server.Check(() =>
        {
            var log = server.LogTail(400);
            Assert.Matches(@"info\s+TLS established \(Tls1[23], TLS_\w+\)", log);
            Assert.Matches(@"info\s+Client disconnected: \S", log);
            Assert.DoesNotMatch(@"\bdebug\b", log);
        });
    }

    [Fact]
    public async Task SystemdNotify_ReadyAndStopping()
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"luaxmpp-notify-{Guid.NewGuid():N}.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", socketPath);
        ServerProcess server;
        try
        {
            server = await ServerProcess.StartAsync(output);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
        }
        await using (server)
        {
            var ready = await ReceiveAsync(socket);
            var pid = await PidAsync(server);
            await server.StopAsync();
            var stopping = await ReceiveAsync(socket);

            server.Check(() =>
            {
                Assert.Contains("READY=1", ready);
                Assert.Contains($"MAINPID={pid}", ready);
                Assert.Contains("STOPPING=1", stopping);
            });
        }
        File.Delete(socketPath);
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [RootFact]
    public async Task StartedAsRoot_WithProsodyUser_RunsAsThatUser()
    {
        // A user of our own, so nothing else on the machine is assumed (useradd: shadow-utils, in Debian's passwd).
        const string user = "luaxmpp-drop";
        if ((await ChildProcess.RunAsync("id", ["-u", user], "/", TimeSpan.FromSeconds(10))).ExitCode != 0)
        {
            var add = await ChildProcess.RunAsync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user], "/", TimeSpan.FromSeconds(30));
            Assert.True(add.ExitCode == 0, add.ToString());
        }
        try
        {
            await using var server = await ServerProcess.CreateAsync(output, c => c.Remove("run_as_root").Set("prosody_user", ServerConfig.Lua(user)));
            Directory.CreateDirectory(server.DataPath);
            var chown = await ChildProcess.RunAsync("chown", ["-R", user + ":", server.Directory], server.Directory, TimeSpan.FromSeconds(10));
            Assert.True(chown.ExitCode == 0, chown.ToString());

            await server.StartAsync();
            var pid = await PidAsync(server);
            var status = await File.ReadAllLinesAsync($"/proc/{pid}/status");
            var uid = await ChildProcess.RunAsync("id", ["-u", user], server.Directory, TimeSpan.FromSeconds(10));
            var gid = await ChildProcess.RunAsync("id", ["-g", user], server.Directory, TimeSpan.FromSeconds(10));

            server.Check(() =>
            {
                string Field(string name) => status.Single(l => l.StartsWith(name, StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
                Assert.Equal(uid.Stdout.Trim(), Field("Uid:"));
                Assert.Equal(gid.Stdout.Trim(), Field("Gid:"));
            });
        }
        finally
        {
            await ChildProcess.RunAsync("userdel", [user], "/", TimeSpan.FromSeconds(30));
        }
    }

    [RootFact]
    public async Task StartedAsRoot_WithoutProsodyUserOrRunAsRoot_RefusesInOneLine()
    {
        // Prosody 0.12's daemon refuses root too (mod_posix); run_as_root = true is the way to keep it.
        await using var server = await ServerProcess.CreateAsync(output, c => c.Remove("run_as_root"));

        var start = await OperatorAssert.StartAsync(server);

        server.Check(() => OperatorAssert.OneLine(start, 4, "Refusing to run as root", "prosody_user", "run_as_root = true"));
    }
}

/// <summary>A fact that needs root (switching users); reported as skipped, with the reason, otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") Skip = "needs root: it starts the server as root to see it switch users or refuse";
    }
}
