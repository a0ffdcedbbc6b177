using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Many hibernated stream-management sessions (XEP-0198 §5): what each costs in server memory,
/// how long expiring all of them at once takes, that the ones among them that get messages can
/// still be resumed (messages delivered once) or end in offline storage (once), and that a
/// SIGTERM with hibernating sessions loses none of their queued messages. CI: 1 000 hibernated
/// sessions and 50 for the SIGTERM case; scripts/reliability.sh --full: 100 000 and 1 000.
/// </summary>
/// <remarks>
/// <para>Every client asks for a hibernation time (&lt;enable max=…/&gt;) that ends at one common
/// deadline, so all sessions expire at the same moment: the worst case (a network outage
/// disconnects everyone at once, and nobody comes back). The server's
/// smacks_hibernation_time is only the upper bound.</para>
/// <para>Progress is observed through mod_smacks' summary line (one info line per
/// smacks_summary_interval, 1 s here), the same line an operator reads.</para>
/// </remarks>
public sealed partial class HibernationLoadTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const string Password = "pw";
    private const int MessagesEach = 3;

    [Fact]
    public async Task HibernatedSessions_CostLittleMemory_ExpireTogether_AndStayResumable()
    {
        int sessions = ReliabilitySize.Pick("HIBERNATED", ci: 1_000, full: 100_000);
        const int warmup = 100;
        const int targets = 10; // get messages while hibernating: half resume, half expire
        await using var server = await StartServerAsync();
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        var clock = Stopwatch.StartNew();

        await using var sender = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await sender.LoginAsync(Host, "sender", Password, register: true);
        // Warm-up (JIT, pools, Lua, the expiry path) so the baseline is the server's steady
        // state; these sessions hibernate for a second and are gone before it is taken.
        var warmupClock = Stopwatch.StartNew();
        await LeaveHibernatingAsync(server, warmup, i => "w" + i, new string[warmup], clock, clock.Elapsed + TimeSpan.FromSeconds(1));
        double warmupRate = warmup / warmupClock.Elapsed.TotalSeconds;
        await WaitUntilExpiredAsync(server, warmup, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        long luaBaseline = await LuaHeapKibAsync(sender);
        long baseline = ServerMemory.RssKib(pid);
        output.WriteLine($"warm-up done at {clock.Elapsed.TotalSeconds:F1} s ({warmupRate:F0} logins/s)");

        // The common deadline leaves the logins twice (full run: 1.4 times) the time the
        // warm-up rate predicts, unless LUAXMPP_RELIABILITY_HIBERNATION_SECONDS says otherwise.
        // The constant covers what follows the logins before the check below (the wait until all
        // hibernate, 2 s of settling, the Lua heap probe's full collection) and its 4 s margin:
        // with 6 a fast warm-up (534 logins/s) left 0.7 s for the wait and the probe, too little
        // on a busy CI machine.
        double predicted = sessions / warmupRate * (ReliabilitySize.Full ? 1.4 : 2.0) + 9;
        int budgetSeconds = ReliabilitySize.Pick("HIBERNATION_SECONDS", ci: (int)predicted, full: (int)predicted);
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(budgetSeconds);
        var ids = new string[sessions];
        var loginClock = Stopwatch.StartNew();
        await LeaveHibernatingAsync(server, sessions, i => "h" + i, ids, clock, deadline);
        double loginSeconds = loginClock.Elapsed.TotalSeconds;
        bool allHibernating = await WaitForHibernatingAsync(server, sessions, TimeSpan.FromSeconds(60));
        await Task.Delay(2000);
        long luaHibernated = await LuaHeapKibAsync(sender);
        long hibernated = ServerMemory.RssKib(pid);
        double perSessionKib = (hibernated - baseline) / (double)sessions;
        output.WriteLine($"{sessions} sessions logged in and cut in {loginSeconds:F1} s ({sessions / loginSeconds:F0}/s); " +
            $"RSS {baseline / 1024} MiB → {hibernated / 1024} MiB = {perSessionKib:F2} KiB per hibernated session, " +
            $"of which Lua heap {luaBaseline / 1024} → {luaHibernated / 1024} MiB = {(luaHibernated - luaBaseline) / (double)sessions:F2} KiB");
        Assert.True(clock.Elapsed < deadline - TimeSpan.FromSeconds(4),
            $"logins took too long ({clock.Elapsed.TotalSeconds:F0} s) for the {budgetSeconds} s hibernation budget; raise LUAXMPP_RELIABILITY_HIBERNATION_SECONDS");

        // Messages to sessions spread over the whole population; the ping answer means they are queued.
        var chosen = Enumerable.Range(0, targets).Select(k => k * (sessions / targets)).ToArray();
        foreach (int i in chosen)
        {
            for (int m = 0; m < MessagesEach; m++)
                await sender.SendAsync($"<message to='h{i}@{Host}/r' type='chat' id='q{i}-{m}'><body>h{i}-{m}</body></message>");
        }

        Assert.True(await sender.PingAsync(Host, "queued"), "sender's ping after queueing went unanswered");
        var resumed = chosen.Take(targets / 2).ToArray();
        var expiring = chosen.Skip(targets / 2).ToArray();
        var resumeProblems = new List<string>();
        var resumeMs = new List<double>();
        foreach (int i in resumed)
        {
            var (problem, ms) = await ResumeAndReadAsync(server, "h" + i, ids[i]);
            if (problem is not null) resumeProblems.Add(problem);
            resumeMs.Add(ms);
        }

        // Mass expiry: every session's max ends at the deadline. The sender pings meanwhile, so
        // the report shows how long the server stopped answering while it expired them.
        var untilDeadline = deadline - clock.Elapsed;
        if (untilDeadline > TimeSpan.Zero) await Task.Delay(untilDeadline);
        var expiryClock = Stopwatch.StartNew();
        int remaining = sessions - resumed.Length;
        var pingMs = new List<double>();
        bool allExpired = false;
        var expiryTimeout = TimeSpan.FromSeconds(Math.Max(60, sessions / 200.0));
        while (expiryClock.Elapsed < expiryTimeout)
        {
            var ping = Stopwatch.StartNew();
            bool answered = await sender.PingAsync(Host, "e" + pingMs.Count, TimeSpan.FromSeconds(120));
            pingMs.Add(answered ? ping.Elapsed.TotalMilliseconds : double.PositiveInfinity);
            var summary = Summaries(server);
            if (summary.Count > 0 && summary[^1].Hibernating == 0 && summary.Sum(s => s.Expired) >= warmup + remaining)
            {
                allExpired = true;
                break;
            }

            await Task.Delay(100);
        }

        double expirySeconds = expiryClock.Elapsed.TotalSeconds;
        output.WriteLine($"expiry done at {clock.Elapsed.TotalSeconds:F1} s");
        await Task.Delay(2000);
        long luaAfterExpiry = await LuaHeapKibAsync(sender);
        long afterExpiry = ServerMemory.RssKib(pid);
        var summaries = Summaries(server);
        output.WriteLine($"all {remaining} hibernating sessions gone {expirySeconds:F1} s after their common deadline " +
            $"(summary lines every 1 s; budget {budgetSeconds} s); expired counted {summaries.Sum(s => s.Expired) - warmup}, resumed {summaries.Sum(s => s.Resumed)}; " +
            $"pings meanwhile {pingMs.Count}, max {pingMs.DefaultIfEmpty(0).Max():F0} ms; RSS after expiry {afterExpiry / 1024} MiB (Lua heap {luaAfterExpiry / 1024} MiB); " +
            $"resumes {resumed.Length - resumeProblems.Count}/{resumed.Length}, max {resumeMs.DefaultIfEmpty(0).Max():F0} ms");

        // Exactly once: the resumed sessions got their messages on resume (none offline), the
        // expired ones find theirs in offline storage.
        var checks = resumed.Select(i => CheckOfflineAsync(server, "h" + i, expected: []))
            .Concat(expiring.Select(i => CheckOfflineAsync(server, "h" + i, Enumerable.Range(0, MessagesEach).Select(m => $"h{i}-{m}").ToArray())));
        var deliveryProblems = (await Task.WhenAll(checks)).SelectMany(p => p).ToList();

        server.Check(() =>
        {
            Assert.True(allHibernating, $"not all {sessions} sessions were reported hibernating");
            Assert.Empty(resumeProblems);
            Assert.True(allExpired, $"not all sessions expired within {expiryTimeout.TotalSeconds:F0} s of the deadline");
            Assert.Empty(deliveryProblems);
            Assert.DoesNotContain(pingMs, double.IsPositiveInfinity);
        });
    }

    [Fact]
    public async Task Sigterm_WithHibernatingSessions_PutsEveryQueuedMessageInOfflineStorageOnce()
    {
        int sessions = ReliabilitySize.Pick("HIBERNATING_SIGTERM", ci: 50, full: 1_000);
        await using var server = await StartServerAsync();
        var ids = new string[sessions];
        await using (var sender = await XmppSocketClient.ConnectAsync(server.C2sPort))
        {
            await sender.LoginAsync(Host, "sender", Password, register: true);
            await LeaveHibernatingAsync(server, sessions, i => "s" + i, ids, Stopwatch.StartNew(), null);
            Assert.True(await WaitForHibernatingAsync(server, sessions, TimeSpan.FromSeconds(60)), "not all sessions hibernating");
            for (int i = 0; i < sessions; i++)
            {
                await sender.SendAsync(string.Concat(Enumerable.Range(0, MessagesEach).Select(m =>
                    $"<message to='s{i}@{Host}/r' type='chat' id='t{i}-{m}'><body>s{i}-{m}</body></message>")));
            }

            Assert.True(await sender.PingAsync(Host, "queued", TimeSpan.FromSeconds(60)), "sender's ping after queueing went unanswered");
        }

        var stop = Stopwatch.StartNew();
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        await ChildProcess.RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)], server.Directory, TimeSpan.FromSeconds(10));
        while (Directory.Exists($"/proc/{pid}") && stop.Elapsed < TimeSpan.FromSeconds(300)) await Task.Delay(50);
        double stopSeconds = stop.Elapsed.TotalSeconds;
        await server.StopAsync(); // reaps the process (or kills it, if it ignored SIGTERM)
        int? exitCode = server.ExitCode;
        bool shutdownLine = ServerLog.Read(server).Contains($"Server shutting down: ended {sessions} hibernating", StringComparison.Ordinal);
        await server.StartAsync();

        // The h of each expired session was kept: a late <resume/> learns it (XEP-0198 §5).
        var problems = new List<string>();
        for (int i = 0; i < Math.Min(3, sessions); i++)
        {
            await using var late = await XmppSocketClient.ConnectAsync(server.C2sPort);
            await late.AuthenticateAsync(Host, "s" + i, Password);
            await late.SendAsync($"<resume xmlns='{HibernatingClient.Sm3}' h='0' previd='{ids[i]}'/>");
            var answer = await late.WaitForAsync(e => e.Name.NamespaceName == HibernatingClient.Sm3, "<failed/>");
            if (answer.Name.LocalName != "failed" || (string?)answer.Attribute("h") != "0") problems.Add($"s{i}: late resume answered {answer}");
        }

        var collect = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(16);
        var perUser = await Task.WhenAll(Enumerable.Range(0, sessions).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await CheckOfflineAsync(server, "s" + i, Enumerable.Range(0, MessagesEach).Select(m => $"s{i}-{m}").ToArray());
            }
            finally
            {
                gate.Release();
            }
        }));
        problems.AddRange(perUser.SelectMany(p => p));
        output.WriteLine($"{sessions} hibernating sessions × {MessagesEach} queued messages; SIGTERM → exit {exitCode} in {stopSeconds:F1} s; " +
            $"after restart {problems.Count} problems ({collect.Elapsed.TotalSeconds:F1} s to check every account)");
        server.Check(() =>
        {
            Assert.Equal(0, exitCode);
            Assert.True(shutdownLine, "no shutdown summary line for the hibernating sessions");
            Assert.Empty(problems);
        });
    }

    // Answers an iq with the Lua heap size after a full collection, so the report can split the
    // memory per session between Lua (session tables, mod_smacks' state) and the rest.
    private const string MemoryProbe = """
        local st = require "util.stanza";
        module:hook("iq-get/host/urn:test:lua-memory:query", function (event)
            collectgarbage("collect");
            collectgarbage("collect");
            event.origin.send(st.reply(event.stanza):tag("memory", { xmlns = "urn:test:lua-memory",
                kib = string.format("%d", math.floor(collectgarbage("count"))) }));
            return true;
        end);
        """;

    private async Task<ServerProcess> StartServerAsync()
    {
        var server = await ServerProcess.CreateAsync(output, c => c
            .Set("c2s_require_encryption", "false")
            .Set("allow_unencrypted_plain_auth", "true")
            .Set("authentication", ServerConfig.Lua("internal_plain"))
            .Set("smacks_hibernation_time", "3600")
            .Set("smacks_summary_interval", "1")
            .Set("c2s_timeout", "120")
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "disco", "ping", "register", "offline", "smacks", "lua_memory"))
            .Set("log", c.Get("log")!.Replace("debug =", "info =", StringComparison.Ordinal)));
        var plugins = Directory.CreateDirectory(Path.Combine(server.Directory, "plugins")).FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_lua_memory.lua"), MemoryProbe);
        server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
        return await server.LaunchAsync();
    }

    /// <summary>The server's Lua heap in KiB after a full collection.</summary>
    private static async Task<long> LuaHeapKibAsync(XmppSocketClient client)
    {
        var id = "mem" + Guid.NewGuid().ToString("N")[..6];
        await client.SendAsync($"<iq type='get' id='{id}' to='{Host}'><query xmlns='urn:test:lua-memory'/></iq>");
        var reply = await client.WaitForAsync(e => (string?)e.Attribute("id") == id, "Lua memory", TimeSpan.FromSeconds(60));
        return long.Parse((string?)reply.Descendants().FirstOrDefault(e => e.Name.LocalName == "memory")?.Attribute("kib") ?? "-1", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Leaves <paramref name="count"/> hibernating sessions (32 logins in flight). With a
    /// deadline, each asks for the hibernation time that ends there.
    /// </summary>
    private static async Task LeaveHibernatingAsync(ServerProcess server, int count, Func<int, string> user, string[] ids, Stopwatch clock, TimeSpan? deadline)
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                int? max = deadline is { } d ? Math.Max(1, (int)Math.Ceiling((d - clock.Elapsed).TotalSeconds)) : null;
                ids[i] = await HibernatingClient.LeaveHibernatingAsync(server.C2sPort, Host, user(i), Password, max);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>Resumes (XEP-0198 §5) with h = 0 and checks the queued messages come once; returns a problem or null, and the resume time.</summary>
    private static async Task<(string? Problem, double Ms)> ResumeAndReadAsync(ServerProcess server, string user, string previd)
    {
        await using var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.AuthenticateAsync(Host, user, Password);
        var clock = Stopwatch.StartNew();
        await client.SendAsync($"<resume xmlns='{HibernatingClient.Sm3}' h='0' previd='{previd}'/>");
        var answer = await client.WaitForAsync(e => e.Name.NamespaceName == HibernatingClient.Sm3 && e.Name.LocalName is "resumed" or "failed", "<resumed/>");
        double ms = clock.Elapsed.TotalMilliseconds;
        if (answer.Name.LocalName != "resumed") return ($"{user}: {answer}", ms);
        var bodies = await CollectBodiesAsync(client, MessagesEach);
        var expected = Enumerable.Range(0, MessagesEach).Select(m => $"{user}-{m}").ToList();
        // Acknowledge what came and close cleanly: nothing may then also go to offline storage.
        await client.SendAsync($"<a xmlns='{HibernatingClient.Sm3}' h='{bodies.Stanzas}'/></stream:stream>");
        await client.ReadToEndAsync(TimeSpan.FromSeconds(5));
        return bodies.Bodies.SequenceEqual(expected) ? (null, ms) : ($"{user}: after resume got [{string.Join(", ", bodies.Bodies)}]", ms);
    }

    /// <summary>Logs in with initial presence; offline storage must hand out exactly <paramref name="expected"/>.</summary>
    private static async Task<IReadOnlyList<string>> CheckOfflineAsync(ServerProcess server, string user, string[] expected)
    {
        await using var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(Host, user, Password, resource: "check");
        var got = await CollectBodiesAsync(client, expected.Length);
        var problems = new List<string>();
        var missing = expected.Except(got.Bodies).ToList();
        var duplicated = got.Bodies.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var unexpected = got.Bodies.Except(expected).ToList();
        if (missing.Count > 0) problems.Add($"{user}: lost {string.Join(", ", missing)}");
        if (duplicated.Count > 0) problems.Add($"{user}: duplicated {string.Join(", ", duplicated)}");
        if (unexpected.Count > 0) problems.Add($"{user}: unexpected {string.Join(", ", unexpected)}");
        return problems;
    }

    /// <summary>
    /// Message bodies until <paramref name="expected"/> arrived, then whatever else comes within
    /// a short quiet time (so a duplicate would be seen); also counts stanzas, for the ack.
    /// </summary>
    private static async Task<(List<string> Bodies, int Stanzas)> CollectBodiesAsync(XmppSocketClient client, int expected)
    {
        var bodies = new List<string>();
        int stanzas = 0;
        var patience = Stopwatch.StartNew();
        while (true)
        {
            bool complete = bodies.Count >= expected;
            var element = await client.NextAsync(complete ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(10));
            if (element is null) break;
            if (element.Name.NamespaceName == "jabber:client" && element.Name.LocalName is "message" or "presence" or "iq") stanzas++;
            if (element.Name == XmppSocketClient.Client + "message" && element.Element(XmppSocketClient.Client + "body") is { } body) bodies.Add(body.Value);
            if (!complete && patience.Elapsed > TimeSpan.FromSeconds(30)) break;
        }

        return (bodies, stanzas);
    }

    private sealed record Summary(int Hibernated, int Resumed, int Expired, int Hibernating);

    // The log grows by a line per connection (100 000 in the full run): read only what is new.
    private readonly List<Summary> _summaries = [];
    private long _logOffset;

    private List<Summary> Summaries(ServerProcess server)
    {
        if (!File.Exists(server.LogPath)) return _summaries;
        using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length < _logOffset) _logOffset = 0;
        stream.Seek(_logOffset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        int complete = text.LastIndexOf('\n') + 1; // a line still being written is read next time
        _logOffset += System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, complete));
        _summaries.AddRange(SummaryLine().Matches(text[..complete]).Select(m => new Summary(Int(m, 1), Int(m, 2), Int(m, 3), Int(m, 4))));
        return _summaries;
    }

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    /// <summary>Polls mod_smacks' summary line until it reports <paramref name="count"/> hibernating.</summary>
    private async Task<bool> WaitForHibernatingAsync(ServerProcess server, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var all = Summaries(server);
            if (all.Count > 0 && all[^1].Hibernating >= count) return true;
            await Task.Delay(200);
        }

        return false;
    }

    private async Task WaitUntilExpiredAsync(ServerProcess server, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var all = Summaries(server);
            if (all.Count > 0 && all[^1].Hibernating == 0 && all.Sum(s => s.Expired) >= count) return;
            await Task.Delay(200);
        }

        throw new XunitException("the warm-up sessions did not expire");
    }

    [GeneratedRegex(@"Stream management in the last \d+ s: (\d+) sessions started hibernating, (\d+) resumed, (\d+) expired; (\d+) hibernating now")]
    private static partial Regex SummaryLine();
}
