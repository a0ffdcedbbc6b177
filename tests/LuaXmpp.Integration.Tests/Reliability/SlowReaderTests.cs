using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.StreamManagement;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Clients that read slowly or not at all while others send to them. The server queues at most
/// network_settings.max_send_buffer_size bytes (16 MiB by default) that the client's socket has
/// not taken, then closes the connection ("Client is not reading"); a reader that keeps up is
/// never cut; a stream-managed session hibernates and loses nothing.
/// </summary>
public sealed partial class SlowReaderTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const long DefaultBudget = 16L * 1024 * 1024;
    private const string Sm3 = "urn:xmpp:sm:3";

    [GeneratedRegex(@"Client is not reading: (\d+) bytes would be queued unwritten \(limit (\d+); (\d+) elements\)")]
    private static partial Regex NotReadingLine();

    [GeneratedRegex(@"^flood (\d+) ")]
    private static partial Regex FloodNumber();

    private static async Task<XmppSocketClient> LoginAsync(ServerProcess server, string user, bool register, bool presence = true, string password = "")
    {
        var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(Host, user, password == "" ? "pw-" + user : password, register: register, presence: presence);
        return client;
    }

    private static string Flood(int i, string padding) => $"flood {i} {padding}";

    private static int? FloodIndex(XElement message) => FloodIndexOf(message.Element(XmppSocketClient.Client + "body")?.Value);

    private static int? FloodIndexOf(string? body)
    {
        var match = body is null ? null : FloodNumber().Match(body);
        return match is { Success: true } ? int.Parse(match.Groups[1].Value) : null;
    }

    private static async Task SendFloodAsync(XmppSocketClient sender, string to, int from, int count, string padding, int batch = 10)
    {
        for (int i = from; i < from + count; i += batch)
        {
            var stanzas = Enumerable.Range(i, Math.Min(batch, from + count - i))
                .Select(n => $"<message to='{to}' type='chat' id='f{n}'><body>{Flood(n, padding)}</body></message>");
            await sender.SendAsync(string.Concat(stanzas));
        }
    }

    /// <summary>The numbers of the one "Client is not reading" log line: bytes, limit.</summary>
    private static (long Bytes, long Limit, int Lines) NotReading(ServerProcess server)
    {
        var matches = NotReadingLine().Matches(ServerLog.Read(server));
        if (matches.Count == 0) return (0, 0, 0);
        return (long.Parse(matches[0].Groups[1].Value), long.Parse(matches[0].Groups[2].Value), matches.Count);
    }

    /// <summary>
    /// A client that never reads is flooded with 200 KB messages: it is cut once the bytes its
    /// socket did not take pass the budget (not after N elements), the server's memory grows by
    /// about that much, and the sender and two bystanders are served throughout.
    /// </summary>
    [Fact]
    public async Task DeadReader_FloodedWithLargeStanzas_IsCutAtTheByteBudget_AndMemoryStaysBounded()
    {
        const int BodyBytes = 200_000;
        int messages = ReliabilitySize.Pick(ci: 150, full: 2_000);
        await using var server = await ServerProcess.StartAsync(output);
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        await using var bystanders = await Bystanders.StartAsync(server, "slow-bystander");
        await using var reader = await LoginAsync(server, "sleepy", register: true);
        await using var sender = await LoginAsync(server, "flooder", register: true);
        await using var sampler = RssSampler.Start(pid);

        bystanders.Begin();
        // The peak up to just after the cut is what the dead reader's connection costs; after
        // it the flood goes to offline storage, whose writes cost memory of their own.
        var atCut = Task.Run(async () =>
        {
            await ServerLog.ContainsAsync(server, "Client is not reading", TimeSpan.FromSeconds(300));
            await Task.Delay(500);
            return sampler.Peak;
        });
        var clock = Stopwatch.StartNew();
        await SendFloodAsync(sender, reader.Jid!, 0, messages, new string('z', BodyBytes));
        bool senderAlive = await sender.PingAsync(Host, "alive", TimeSpan.FromSeconds(120));
        var sendSeconds = clock.Elapsed.TotalSeconds;
        bool cutLogged = await ServerLog.ContainsAsync(server, "Client is not reading", TimeSpan.FromSeconds(30));
        // The session ends at the cut (the rest of the flood goes to offline storage).
        bool sessionEnded = await ServerLog.ContainsAsync(server, "sleepy@localhost/r: client is not reading", TimeSpan.FromSeconds(30));
        await bystanders.StopAsync();
        var (peak, baseline) = await sampler.StopAsync();
        long peakAtCut = await atCut;

        // The connection still writes what was queued before the cut (for a few seconds, to a
        // client that was only behind), then closes; reading now gets that and the stream error.
        var (readerClosed, elements) = await reader.ReadToEndAsync(TimeSpan.FromSeconds(60));
        bool senderStillAlive = await sender.PingAsync(Host, "alive2");
        var (bytes, limit, lines) = NotReading(server);
        int delivered = elements.Count(e => e.Name.LocalName == "message");
        int offline = (await WaitForOfflineAsync(server, "sleepy", expected: null, TimeSpan.FromSeconds(30))).Count;

        long growthMib = (peakAtCut - baseline) / 1024;
        output.WriteLine($"sent {messages} x {BodyBytes / 1000} KB = {messages * (long)BodyBytes / 1_000_000} MB in {sendSeconds:F1} s; " +
            $"cut at {bytes} bytes queued (limit {limit}); read after the cut: {delivered} messages, offline storage {offline}, lost {messages - delivered - offline}; " +
            $"server RSS baseline {baseline / 1024} MiB, peak until the cut {peakAtCut / 1024} MiB (+{growthMib} MiB), " +
            $"peak of the whole run {peak / 1024} MiB (+{(peak - baseline) / 1024} MiB); bystanders delivered {bystanders.Delivered}");
        server.Check(() =>
        {
            Assert.True(senderAlive && senderStillAlive, "the sender stopped being served");
            Assert.True(cutLogged, "no 'Client is not reading' line in the log");
            Assert.Equal(1, lines);
            Assert.Equal(DefaultBudget, limit);
            // Cut by the stanza that did not fit: over the limit by less than one stanza.
            Assert.InRange(bytes, limit + 1, limit + BodyBytes + 1_000);
            Assert.True(sessionEnded, "the reader's session did not end at the cut");
            Assert.True(readerClosed, "the dead reader was never disconnected");
            Assert.True(offline > 0, "nothing went to offline storage after the cut");
            Assert.True(delivered + offline <= messages, $"duplicates: {delivered} read + {offline} offline of {messages}");
            Assert.Empty(bystanders.Problems);
            Assert.True(bystanders.Delivered > 0, "the bystanders exchanged nothing during the flood");
            // The queue is 16 MiB; parsing, serializing and collecting 200 KB stanzas (large-object
            // heap) costs a few times that transiently. Queueing by element count (the old bound,
            // 10 000 elements) would have reached 2 GB with these stanzas.
            Assert.True(growthMib < 200, $"server RSS grew by {growthMib} MiB until the cut");
        });
    }

    /// <summary>
    /// A client that reads slowly (pauses after every message) but keeps up on average with a
    /// bursty sender gets every message, in order, and is not cut — though more is sent than
    /// the budget and the kernel buffers could hold if it did not read.
    /// </summary>
    [Fact]
    public async Task SlowReader_KeepingUpOnAverage_IsNotCut_AndGetsEveryMessageInOrder()
    {
        const int BodyBytes = 100_000;
        const int Burst = 10;
        int messages = ReliabilitySize.Pick(ci: 120, full: 1_200);
        // 2 MiB budget: 120 x 100 KB = 12 MB is well over budget + kernel buffers (~6 MB).
        await using var server = await ServerProcess.StartAsync(output, config => config.Set("network_settings", "{ max_send_buffer_size = 2097152 }"));
        await using var reader = await LoginAsync(server, "slowpoke", register: true);
        await using var sender = await LoginAsync(server, "bursty", register: true);
        var padding = new string('s', BodyBytes);

        // Sender: a burst of 1 MB every 0.5 s (2 MB/s). Reader: 40 ms per 100 KB message (2.5 MB/s).
        var clock = Stopwatch.StartNew();
        var sending = Task.Run(async () =>
        {
            for (int i = 0; i < messages; i += Burst)
            {
                await SendFloodAsync(sender, reader.Jid!, i, Math.Min(Burst, messages - i), padding, Burst);
                await Task.Delay(500);
            }
        });
        var received = new List<int>();
        while (received.Count < messages)
        {
            var element = await reader.NextAsync(TimeSpan.FromSeconds(30));
            if (element is null) break;
            if (element.Name.LocalName != "message" || FloodIndex(element) is not { } n) continue;
            Assert.Equal(BodyBytes, element.Element(XmppSocketClient.Client + "body")!.Value.Length - $"flood {n} ".Length);
            received.Add(n);
            await Task.Delay(40);
        }
        await sending;
        bool readerAlive = await reader.PingAsync(Host, "still-here");

        output.WriteLine($"{received.Count} of {messages} x {BodyBytes / 1000} KB read in {clock.Elapsed.TotalSeconds:F1} s by a reader pausing 40 ms per message");
        server.Check(() =>
        {
            Assert.Equal(Enumerable.Range(0, messages), received);
            Assert.True(readerAlive, "the slow reader's session stopped answering");
            Assert.Equal(0, ServerLog.Count(server, "Client is not reading"));
        });
    }

    /// <summary>
    /// A client with XEP-0198 resumption stops reading while flooded: the budget (512 KiB here)
    /// cuts it, the session hibernates (it is a connection loss like any other) and keeps
    /// queueing; resuming hands over every message exactly once, in order. The re-sent queue
    /// (6 MB) is itself over this small budget, so the resumed connection is cut too; it still
    /// writes what was queued before closing, and the next resume acknowledges all of it.
    /// </summary>
    [Fact]
    public async Task DeadReader_WithResumption_HibernatesAndResumesWithEveryMessageOnce()
    {
        const int BodyBytes = 20_000;
        int messages = ReliabilitySize.Pick(ci: 300, full: 1_800);
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string>
        {
            ["network_settings"] = "{ max_send_buffer_size = 524288 }",
            // Room for everything (20 000 stanzas, 40 MiB): this test is about the path where the
            // queue does not overflow.
            ["smacks_max_queue_size"] = "20000",
        });
        await SmacksServer.RegisterAsync(server, "sleepy", "flooder");
        await using var reader = await LoginAsync(server, "sleepy", register: false, presence: false, password: SmacksServer.Password);
        await reader.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var enabled = await reader.WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        var token = (string?)enabled.Attribute("id") ?? throw new InvalidOperationException("no resumption id: " + enabled);
        await using var sender = await LoginAsync(server, "flooder", register: false, password: SmacksServer.Password);

        // The reader reads nothing from here on.
        var clock = Stopwatch.StartNew();
        await SendFloodAsync(sender, reader.Jid!, 0, messages, new string('r', BodyBytes));
        bool senderAlive = await sender.PingAsync(Host, "alive", TimeSpan.FromSeconds(120));
        var floodSeconds = clock.Elapsed.TotalSeconds;
        bool cutLogged = await ServerLog.ContainsAsync(server, "Client is not reading", TimeSpan.FromSeconds(30));
        var hibernated = await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start", 1, TimeSpan.FromSeconds(30));
        var (bytes, limit, _) = NotReading(server);
        clock.Restart();

        // Resume until everything arrived; a resumed connection may itself be cut by the burst
        // of re-sent stanzas, and then the next resume acknowledges what did arrive.
        var received = new List<int>();
        var outcomes = new List<string>();
        int rounds = 0;
        for (; rounds < 50 && received.Count < messages; rounds++)
        {
            await using var resumed = await XmppSocketClient.ConnectAsync(server.C2sPort);
            await resumed.AuthenticateAsync(Host, "sleepy", SmacksServer.Password);
            // h: the client handled exactly the stanzas it received since <enable/> (all flood messages).
            await resumed.SendAsync($"<resume xmlns='{Sm3}' h='{received.Count}' previd='{token}'/>");
            XElement answer;
            try
            {
                answer = await resumed.WaitForAsync(e => e.Name.LocalName is "resumed" or "failed", "<resumed/>");
            }
            catch (Xunit.Sdk.XunitException e)
            {
                outcomes.Add("no answer: " + e.Message.Split('\n')[0]);
                continue;
            }
            outcomes.Add(answer.Name.LocalName);
            if (answer.Name.LocalName != "resumed") break;
            while (true)
            {
                var element = await resumed.NextAsync(TimeSpan.FromSeconds(received.Count < messages ? 15 : 2));
                if (element is null) break;
                if (element.Name.LocalName == "message" && FloodIndex(element) is { } n) received.Add(n);
            }
        }

        output.WriteLine($"{messages} x {BodyBytes / 1000} KB to a dead reader with smacks: cut at {bytes} bytes (limit {limit}); " +
            $"flood and ping {floodSeconds:F1} s; {rounds} resumes ({string.Join(", ", outcomes.Distinct())}) in {clock.Elapsed.TotalSeconds:F1} s; received {received.Count}, distinct {received.Distinct().Count()}");
        server.Check(() =>
        {
            Assert.True(senderAlive, "the sender stopped being served");
            Assert.True(cutLogged, "no 'Client is not reading' line in the log");
            Assert.Equal(524_288, limit);
            Assert.NotEmpty(hibernated);
            Assert.Equal("resumed", outcomes[0]);
            Assert.Equal(Enumerable.Range(0, messages), received);
        });
    }

    /// <summary>
    /// The same with the default limits: the unacked queue (smacks_max_queue_size, 500 stanzas or
    /// 1 000 KiB) overflows before the 16 MiB budget cuts the connection, so the session cannot be
    /// resumed; it ends at the cut, or earlier when offline storage falls behind the spill
    /// (never-acking bound), and every unacknowledged message goes to offline storage — all of
    /// them, once (read from the database, not lost, not doubled).
    /// </summary>
    [Fact]
    public async Task DeadReader_WithResumption_QueueOverflow_SendsEveryMessageToOfflineStorage()
    {
        const int BodyBytes = 200_000;
        int messages = ReliabilitySize.Pick(ci: 130, full: 400);
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "sleepy", "flooder");
        await using var reader = await LoginAsync(server, "sleepy", register: false, presence: false, password: SmacksServer.Password);
        await reader.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var enabled = await reader.WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        var token = (string?)enabled.Attribute("id") ?? throw new InvalidOperationException("no resumption id: " + enabled);
        await using var sender = await LoginAsync(server, "flooder", register: false, password: SmacksServer.Password);

        await SendFloodAsync(sender, reader.Jid!, 0, messages, new string('o', BodyBytes));
        bool senderAlive = await sender.PingAsync(Host, "alive", TimeSpan.FromSeconds(120));
        bool cutLogged = ServerLog.Count(server, "which is not keeping up; closing the session") > 0
            || await ServerLog.ContainsAsync(server, "Client is not reading", TimeSpan.FromSeconds(30));
        bool overflowLogged = await ServerLog.ContainsAsync(server, "Stream management queue overflowed", TimeSpan.FromSeconds(5));

        await using var resumed = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await resumed.AuthenticateAsync(Host, "sleepy", SmacksServer.Password);
        await resumed.SendAsync($"<resume xmlns='{Sm3}' h='0' previd='{token}'/>");
        var answer = await resumed.WaitForAsync(e => e.Name.LocalName is "resumed" or "failed", "<failed/>");
        // A ping from the sender orders its messages before this point; then wait for the writes.
        await sender.PingAsync(Host, "settled");
        var stored = await WaitForOfflineAsync(server, "sleepy", messages, TimeSpan.FromSeconds(60));
        var (bytes, limit, _) = NotReading(server);

        output.WriteLine($"{messages} x {BodyBytes / 1000} KB to a dead reader with smacks (default limits): cut at {bytes} bytes (limit {limit}); " +
            $"resume answered {answer.ToString(SaveOptions.DisableFormatting)}; offline storage holds {stored.Count}, distinct {stored.Distinct().Count()}");
        server.Check(() =>
        {
            Assert.True(senderAlive, "the sender stopped being served");
            Assert.True(cutLogged, "neither a 'Client is not reading' nor a 'not keeping up' line in the log");
            Assert.True(overflowLogged, "the unacked queue did not overflow first");
            Assert.Equal("failed", answer.Name.LocalName);
            Assert.Contains(XmppSocketClient.ErrorCondition(answer) ?? answer.Elements().FirstOrDefault()?.Name.LocalName, new[] { "item-not-found", "resource-constraint" });
            Assert.Equal(Enumerable.Range(0, messages), stored.Order());
        });
    }

    /// <summary>
    /// The flood numbers in the user's offline store, once <paramref name="expected"/> are there,
    /// or (with null) once the count stopped changing for a second; at the latest at the timeout.
    /// </summary>
    private static async Task<List<int>> WaitForOfflineAsync(ServerProcess server, string user, int? expected, TimeSpan timeout)
    {
        int last = -1;
        var stableSince = DateTime.UtcNow;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var numbers = OfflineStore.Texts(server, user).Select(FloodIndexOf).OfType<int>().ToList();
            if (numbers.Count != last) (last, stableSince) = (numbers.Count, DateTime.UtcNow);
            bool settled = expected is { } n ? numbers.Count >= n : DateTime.UtcNow - stableSince >= TimeSpan.FromSeconds(1);
            if (settled || DateTime.UtcNow > deadline) return numbers;
            await Task.Delay(200);
        }
    }

    /// <summary>Samples a process's RSS every 50 ms in the background.</summary>
    internal sealed class RssSampler : IAsyncDisposable
    {
        private readonly int _pid;
        private readonly CancellationTokenSource _stop = new();
        private Task? _loop;
        private long _peak;

        private RssSampler(int pid)
        {
            _pid = pid;
            Baseline = ServerMemory.RssKib(pid);
            _peak = Baseline;
        }

        public long Baseline { get; }

        /// <summary>The highest RSS (KiB) seen so far.</summary>
        public long Peak => Interlocked.Read(ref _peak);

        public static RssSampler Start(int pid)
        {
            var sampler = new RssSampler(pid);
            sampler._loop = Task.Run(sampler.LoopAsync);
            return sampler;
        }

        /// <summary>Peak and baseline RSS in KiB.</summary>
        public async Task<(long Peak, long Baseline)> StopAsync()
        {
            _stop.Cancel();
            if (_loop is not null) await _loop;
            return (_peak, Baseline);
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _peak, Math.Max(Peak, ServerMemory.RssKib(_pid)));
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }
}
