using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Dapper;
using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Storage that stops accepting writes for real: a full disk (a small tmpfs filled to the last
/// byte), a read-only filesystem, a read-only database file. Every time: a write gets a stanza
/// error (a message is bounced, never silently lost), the log says so once per burst, other
/// sessions keep chatting, pings are answered; when the storage comes back, writes work again
/// without a restart.
/// </summary>
public sealed class StorageFaultTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const string FailingLine = "Storage writes failing";
    private const string RecoveredLine = "Storage writes work again";
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What the server answered while writes were failing.</summary>
    private sealed record Failing(XElement? RosterReply, List<XElement> Bounces, bool PingAnswered, TimeSpan Elapsed);

    private static async Task<XmppSocketClient> LoginAsync(ServerProcess server, string user, bool register, bool presence = true)
    {
        var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(Host, user, "pw-" + user, register: register, presence: presence);
        return client;
    }

    private static async Task RegisterAsync(ServerProcess server, params string[] users)
    {
        foreach (var user in users)
        {
            await using (await LoginAsync(server, user, register: true))
            {
            }
        }
    }

    private static string Body(XElement message) => message.Element(XmppSocketClient.Client + "body")?.Value ?? "";

    private static string RosterSet(string id, string contact) =>
        $"<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{contact}@localhost' name='{contact}'/></query></iq>";

    /// <summary>A roster set and <paramref name="messages"/> messages to offline bob while writes fail: every one must come back as an error.</summary>
    /// On Prosody (<c>--prosody</c>) a missing answer is measured, not thrown: what came back within the timeout.
    private static async Task<Failing> WhileFailingAsync(XmppSocketClient alice, int messages)
    {
        var clock = Stopwatch.StartNew();
        await alice.SendAsync(RosterSet("r-fail", "dave"));
        await alice.SendAsync(string.Concat(Enumerable.Range(1, messages).Select(i =>
            $"<message to='bob@localhost' type='chat' id='m-fail-{i}'><body>while failing {i}</body></message>")));
        await alice.SendAsync($"<iq type='get' id='p-fail' to='{Host}'><ping xmlns='urn:xmpp:ping'/></iq>");

        // Replies come in any order (the ping is answered at once, storage answers later): collect by id.
        XElement? roster = null, ping = null;
        var bounces = new Dictionary<string, XElement>();
        while (roster is null || ping is null || bounces.Count < messages)
        {
            var element = await alice.NextAsync(ReplyTimeout);
            if (element is null && ServerFlavor.Current.IsProsody) break;
            if (element is null) throw new Xunit.Sdk.XunitException($"timed out: roster reply {roster is not null}, ping {ping is not null}, {bounces.Count} of {messages} bounces");
            switch ((string?)element.Attribute("id"))
            {
                case "r-fail": roster = element; break;
                case "p-fail": ping = element; break;
                case { } id when id.StartsWith("m-fail-", StringComparison.Ordinal): bounces[id] = element; break;
            }
        }

        return new Failing(roster, [.. bounces.Values], (string?)ping?.Attribute("type") == "result", clock.Elapsed);
    }

    /// <summary>After recovery: a roster set succeeds and a message to offline bob is stored and delivered (and only that one).</summary>
    private static async Task<(XElement Roster, List<string> Delivered)> AfterRecoveryAsync(ServerProcess server, XmppSocketClient alice)
    {
        await alice.SendAsync(RosterSet("r-ok", "erin"));
        var roster = await alice.WaitForAsync(e => (string?)e.Attribute("id") == "r-ok", "roster set after recovery", ReplyTimeout);
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='m-ok'><body>after recovery</body></message>");
        Assert.True(await alice.PingAsync(Host, "p-ok"));
        await using var bob = await LoginAsync(server, "bob", register: false);
        var delivered = new List<string>();
        while (await bob.NextAsync(TimeSpan.FromSeconds(2)) is { } element)
        {
            if (element.Name.LocalName == "message") delivered.Add(Body(element));
        }

        return (roster, delivered);
    }

    private static string RosterAnswer(Failing failing) =>
        failing.RosterReply is { } reply ? XmppSocketClient.ErrorCondition(reply) ?? (string?)reply.Attribute("type") ?? "?" : "no answer";

    private static void AssertFailedVisibly(Failing failing, int messages)
    {
        Assert.True(failing.PingAnswered, "the server did not answer a ping while storage failed");
        Assert.NotNull(failing.RosterReply);
        Assert.Equal("error", (string?)failing.RosterReply.Attribute("type"));
        Assert.Contains(XmppSocketClient.ErrorCondition(failing.RosterReply), new[] { "internal-server-error", "resource-constraint" });
        Assert.Equal(messages, failing.Bounces.Count);
        Assert.All(failing.Bounces, b =>
        {
            Assert.Equal("error", (string?)b.Attribute("type"));
            Assert.Contains(XmppSocketClient.ErrorCondition(b), new[] { "internal-server-error", "resource-constraint" });
        });
    }

    private static void AssertRecovered((XElement Roster, List<string> Delivered) recovered)
    {
        Assert.Equal("result", (string?)recovered.Roster.Attribute("type"));
        // The bounced messages are not stored as well: bob gets exactly the one sent after recovery.
        Assert.Equal(["after recovery"], recovered.Delivered);
    }

    private static void AssertBystanders(Bystanders bystanders)
    {
        Assert.Empty(bystanders.Problems);
        Assert.True(bystanders.Delivered > 0, "the bystanders exchanged nothing during the fault");
    }

    /// <summary>
    /// Folds the WAL back into the database and truncates it, so the next write must allocate
    /// space (SQLite reuses a WAL's existing pages, which a full disk would not stop).
    /// </summary>
    internal static async Task TruncateWalAsync(string dataPath)
    {
        SQLitePCL.Batteries_V2.Init();
        var file = Path.Combine(dataPath, "prosody.sqlite");
        await using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        await conn.OpenAsync();
        // The server may be inside a transaction right now (a login's roster or archive write):
        // the checkpoint then reports busy; try again shortly, a bounded number of times.
        long busy = 1;
        for (int attempt = 0; attempt < 50 && busy != 0; attempt++)
        {
            if (attempt > 0) await Task.Delay(100);
            (busy, _, _) = await conn.QuerySingleAsync<(long, long, long)>("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        Assert.Equal(0, busy);
    }

    /// <summary>
    /// The data directory is a 4 MiB tmpfs; a filler file takes its last byte. Writes fail with
    /// SQLITE_FULL: roster set → error, offline messages → bounced; one log line for the burst;
    /// bystanders and pings unaffected. Deleting the filler brings writes back, no restart.
    /// </summary>
    [MountFact]
    public async Task DiskFull_GivesStanzaErrors_AndRecoversWhenSpaceIsFreed()
    {
        int messages = ReliabilitySize.Pick("DISK_FULL_MESSAGES", ci: 20, full: 1_000);
        await using var disk = await TmpfsMount.CreateAsync(sizeKib: 4096);
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("data_path", ServerConfig.Lua(disk.Path)));
        await RegisterAsync(server, "bob");
        await using var alice = await LoginAsync(server, "alice", register: true);
        await using var bystanders = await Bystanders.StartAsync(server);

        await TruncateWalAsync(disk.Path);
        long filled = disk.Fill();
        bystanders.Begin();
        var failing = await WhileFailingAsync(alice, messages);
        bool failureLogged = await ServerLog.ContainsAsync(server, FailingLine);
        int failureLines = ServerLog.Count(server, FailingLine);
        string failureLine = ServerLog.Read(server).Split('\n').FirstOrDefault(l => l.Contains(FailingLine, StringComparison.Ordinal)) ?? "";

        disk.FreeFiller();
        var clock = Stopwatch.StartNew();
        var recovered = await AfterRecoveryAsync(server, alice);
        var recoveryTime = clock.Elapsed;
        bool recoveryLogged = await ServerLog.ContainsAsync(server, RecoveredLine);
        await bystanders.StopAsync();

        output.WriteLine($"filler: {filled / 1024} KiB of {disk.SizeKib} KiB; while full: roster {RosterAnswer(failing)}, " +
            $"{failing.Bounces.Count} of {messages} messages bounced ({string.Join(",", failing.Bounces.Select(XmppSocketClient.ErrorCondition).Distinct())}) in {failing.Elapsed.TotalSeconds:F1} s; " +
            $"{failureLines} '{FailingLine}' line(s); recovered in {recoveryTime.TotalSeconds:F1} s; bystanders delivered {bystanders.Delivered}\n{failureLine}");
        server.Check(() =>
        {
            AssertFailedVisibly(failing, messages);
            Assert.True(failureLogged, $"no '{FailingLine}' line in the log");
            Assert.Contains("disk full", failureLine);
            Assert.Equal(1, failureLines);
            AssertRecovered(recovered);
            Assert.True(recoveryLogged, $"no '{RecoveredLine}' line in the log");
            AssertBystanders(bystanders);
            Assert.Null(server.ExitCode);
        });
    }

    /// <summary>
    /// Issue 16, item 3: the log file is on the full disk too, with the archive on, in both
    /// durability modes. Logging must not throw into the storage error paths (it wedged the
    /// archive writer: MAM went unanswered for every user until a restart). While full, every
    /// stanza gets its answer; once space is freed, every user's MAM query is answered (one who
    /// never had a failed write too), writes work and the log file resumes, without a restart.
    /// </summary>
    [MountTheory]
    [InlineData("batched")]
    [InlineData("strict")]
    public async Task DiskFullWithTheLogOnIt_EveryStanzaAnswered_MamWorksAfterwards(string durability)
    {
        int messages = ReliabilitySize.Pick("DISK_FULL_MESSAGES", ci: 20, full: 1_000);
        await using var disk = await TmpfsMount.CreateAsync(sizeKib: 4096);
        var logPath = Path.Combine(disk.Path, "server.log");
        await using var server = await ServerProcess.StartAsync(output, c => c
            .Set("data_path", ServerConfig.Lua(disk.Path))
            .Set("log", $"{{ info = {ServerConfig.Lua(logPath)} }}")
            .Set("archive_durability", ServerConfig.Lua(durability))
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam")));
        await RegisterAsync(server, "bob", "carol");
        await using var alice = await LoginAsync(server, "alice", register: true);
        await using var carol = await LoginAsync(server, "carol", register: false);

        await TruncateWalAsync(disk.Path);
        long filled = disk.Fill();
        var failing = await WhileFailingAsync(alice, messages);
        long logBeforeFree = new FileInfo(logPath).Length;

        disk.FreeFiller();
        var recovered = await AfterRecoveryAsync(server, alice);
        var mam = new List<string?>();
        foreach (var (client, who) in new[] { (alice, "alice"), (carol, "carol") })
        {
            await client.SendAsync($"<iq type='set' id='mam-{who}'><query xmlns='urn:xmpp:mam:2' queryid='q-{who}'/></iq>");
            var reply = await client.WaitForAsync(e => (string?)e.Attribute("id") == $"mam-{who}", $"MAM reply for {who}", ReplyTimeout);
            mam.Add((string?)reply.Attribute("type"));
        }
        await Task.Delay(1000);
        // Something to log once the sink's reopen pause has passed: a login.
        await using (await LoginAsync(server, "bob", register: false))
        {
        }
        await Task.Delay(500);
        var log = ReadShared(logPath);
        output.WriteLine("log tail: " + string.Join("\n", log.Split('\n').TakeLast(6)));
        bool logResumed = log.Contains(RecoveredLine, StringComparison.Ordinal) || new FileInfo(logPath).Length > logBeforeFree;

        output.WriteLine($"{durability}: filler {filled / 1024} KiB; while full: roster {RosterAnswer(failing)}, " +
            $"{failing.Bounces.Count} of {messages} messages answered with errors ({failing.Elapsed.TotalSeconds:F1} s, ping answered: {failing.PingAnswered}); " +
            $"after freeing: MAM {string.Join(",", mam)}, log {logBeforeFree} -> {new FileInfo(logPath).Length} bytes");
        server.Check(() =>
        {
            AssertFailedVisibly(failing, messages);
            AssertRecovered(recovered);
            Assert.Equal(["result", "result"], mam);
            Assert.True(logResumed, "the log file did not resume after space was freed");
            Assert.Null(server.ExitCode);
        });
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The data directory's filesystem goes read-only. Linux refuses <c>mount -o remount,ro</c>
    /// while a file on it is open for writing (the running server's database), so the server is
    /// stopped, the tmpfs remounted read-only and the server started on it. SQLite cannot read a
    /// WAL database there either (it must create the -shm file), so the server stays up, refuses
    /// logins with a stream error and logs why; <c>mount -o remount,rw</c> while it runs brings
    /// everything back without a restart: logins, roster writes, offline storage.
    /// </summary>
    [MountFact]
    public async Task ReadOnlyFilesystem_StartIsRefusedNamingDataPath_AndDataIsIntactOnceWritable()
    {
        await using var disk = await TmpfsMount.CreateAsync(sizeKib: 8192);
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("data_path", ServerConfig.Lua(disk.Path)));
        await RegisterAsync(server, "bob", "alice");
        await server.StopAsync();
        var readOnly = await disk.RemountAsync(readOnly: true);
        Assert.True(readOnly.ExitCode == 0, $"remount,ro failed: {readOnly}");

        // Issue 14: an unwritable data_path is an operator mistake with one line and exit code 4
        // (EX "unusable"), not a server that starts and fails every login.
        var refused = await server.RunCliAsync("run");
        output.WriteLine($"start on a read-only data_path: {refused}");
        Assert.Equal(4, refused.ExitCode);
        var lines = refused.Stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains("data_path", lines[0]);
        Assert.DoesNotContain("   at ", refused.Stderr + refused.Stdout);

        var readWrite = await disk.RemountAsync(readOnly: false);
        Assert.True(readWrite.ExitCode == 0, $"remount,rw failed: {readWrite}");
        await server.StartAsync();
        await using var alice = await LoginAsync(server, "alice", register: false);
        await using var bystanders = await Bystanders.StartAsync(server);
        bystanders.Begin();
        var recovered = await AfterRecoveryAsync(server, alice);
        await bystanders.StopAsync();
        server.Check(() =>
        {
            AssertRecovered(recovered);
            AssertBystanders(bystanders);
            Assert.Null(server.ExitCode);
        });
    }

    /// <summary>
    /// The database file is mode 0444 and the server runs as an unprivileged user (root ignores
    /// file modes, so the test drops to uid/gid 65534 with setpriv). Like Prosody, the server
    /// starts and keeps serving: a warning at startup names the file, logins work, writes fail
    /// visibly; after <c>chmod 0644</c> of the file and its -wal/-shm files writes work again
    /// without a restart; SIGTERM exits cleanly.
    /// </summary>
    [RootFact]
    public async Task ReadOnlyDatabaseFile_ServerWarnsServesAndRecovers()
    {
        const int Nobody = 65534;
        int messages = ReliabilitySize.Pick("READ_ONLY_MESSAGES", ci: 20, full: 1_000);
        await using var server = await ServerProcess.StartAsync(output);
        await RegisterAsync(server, "bob", "alice");
        await server.StopAsync();

        var database = Path.Combine(server.DataPath, "prosody.sqlite");
        await RunCheckedAsync("chown", "-R", $"{Nobody}:{Nobody}", server.Directory);
        await RunCheckedAsync("chmod", "0444", database);

        var console = new StringBuilder();
        using var process = StartAsNobody(server, Nobody, console);
        try
        {
            await WaitUntilListeningAsync(server.C2sPort, process, console);
            await using var alice = await LoginAsync(server, "alice", register: false);
            var failing = await WhileFailingAsync(alice, messages);
            bool warned = await ServerLog.ContainsAsync(server, "opened read-only");
            bool failureLogged = await ServerLog.ContainsAsync(server, FailingLine);
            string failureLine = ServerLog.Read(server).Split('\n').FirstOrDefault(l => l.Contains(FailingLine, StringComparison.Ordinal)) ?? "";

            // As an operator would: the -wal and -shm files SQLite created meanwhile took the file's mode 0444.
            await RunCheckedAsync("sh", "-c", $"chmod 0644 '{database}'*");
            var recovered = await AfterRecoveryAsync(server, alice);
            bool recoveryLogged = await ServerLog.ContainsAsync(server, RecoveredLine);

            await ChildProcess.RunAsync("kill", ["-TERM", process.Id.ToString()], "/", TimeSpan.FromSeconds(10));
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(stop.Token);

            output.WriteLine($"as uid {Nobody} with a 0444 database: roster {RosterAnswer(failing)}, " +
                $"{failing.Bounces.Count} of {messages} messages bounced; exit code after SIGTERM {process.ExitCode}\n{failureLine}");
            server.Check(() =>
            {
                AssertFailedVisibly(failing, messages);
                Assert.True(warned, "no 'opened read-only' warning in the log");
                Assert.True(failureLogged, $"no '{FailingLine}' line in the log");
                Assert.Contains("read-only", failureLine);
                AssertRecovered(recovered);
                Assert.True(recoveryLogged, $"no '{RecoveredLine}' line in the log");
                Assert.Equal(0, process.ExitCode);
                Assert.DoesNotContain("Unhandled exception", console.ToString());
            });
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            output.WriteLine("=== console of the unprivileged server ===\n" + console);
        }
    }

    private static Process StartAsNobody(ServerProcess server, int id, StringBuilder console)
    {
        var (fileName, arguments) = server.Flavor.ServerCommand(server.ConfigPath);
        var info = new ProcessStartInfo("setpriv")
        {
            WorkingDirectory = server.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { $"--reuid={id}", $"--regid={id}", "--clear-groups", fileName }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        // The unprivileged user cannot read root's home; the runtime does not need one.
        info.Environment["HOME"] = server.Directory;
        info.Environment["DOTNET_CLI_HOME"] = server.Directory;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(console, e.Data);
        process.ErrorDataReceived += (_, e) => Append(console, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return process;
    }

    private static void Append(StringBuilder console, string? line)
    {
        if (line is null) return;
        lock (console) console.AppendLine(line);
    }

    private static async Task WaitUntilListeningAsync(int port, Process process, StringBuilder console)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
            }

            Assert.False(process.HasExited, $"the unprivileged server exited with {(process.HasExited ? process.ExitCode : 0)}:\n{console}");
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the unprivileged server did not listen within 30 s:\n{console}");
            await Task.Delay(100);
        }
    }

    private static async Task RunCheckedAsync(string fileName, params string[] arguments)
    {
        var result = await ChildProcess.RunAsync(fileName, arguments, "/", TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, $"{fileName} failed: {result}");
    }
}
