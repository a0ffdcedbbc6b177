using System.Diagnostics;
using LuaXmpp.Tests.StreamManagement;

namespace LuaXmpp.Tests.Reliability;

public sealed partial class SlowReaderTests
{
    // Stated bound on the server's RSS growth while one session that never acks receives the CI
    // flood (30 MB): the unacked queue (500 copies, 20 MB as UTF-16) and a 512 KiB spill, plus
    // the transient cost of routing 20 KB stanzas (+82 MiB without stream management) and of
    // writing them to offline storage. Measured +123 MiB; before the spill was bounded the
    // growth was linear in the volume (3.5 GB for 336 MB). See docs/RELIABILITY.md.
    private const long NeverAckingGrowthMib = 200;

    /// <summary>
    /// Issue 16, item 2: a stream-managed session that reads everything but never acks. What falls
    /// off its unacked queue is handed to offline storage in bounded batches instead of being held,
    /// so server memory stays flat however much it receives; when the session ends every message
    /// it never acknowledged is in offline storage exactly once (nothing lost, nothing doubled).
    /// </summary>
    [Fact]
    public async Task NeverAckingSession_ReceivingAFlood_MemoryStaysFlat_AndEveryMessageIsOffline()
    {
        const int BodyBytes = 20_000;
        int messages = ReliabilitySize.Pick("NEVER_ACK_MESSAGES", 1_500, 25_000);
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "deaf", "flooder");
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        var reader = await LoginAsync(server, "deaf", register: false, presence: false, password: SmacksServer.Password);
        await reader.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        await reader.WaitForAsync(e => e.Name.LocalName is "enabled" or "failed", "<enabled/>");
        await using var sender = await LoginAsync(server, "flooder", register: false, password: SmacksServer.Password);
        await using var sampler = RssSampler.Start(pid);

        var received = new List<int>();
        string? streamError = null;
        var reading = Task.Run(async () =>
        {
            // Reads every element and answers no <r/>: the client never acknowledges anything.
            while (received.Count < messages)
            {
                var element = await reader.NextAsync(TimeSpan.FromSeconds(60));
                if (element is null) return;
                if (element.Name.LocalName == "error" && element.Name.NamespaceName == "http://etherx.jabber.org/streams")
                    streamError = element.Elements().FirstOrDefault()?.Name.LocalName;
                if (FloodIndex(element) is { } n) received.Add(n);
            }
        });
        var clock = Stopwatch.StartNew();
        await SendFloodAsync(sender, reader.Jid!, 0, messages, new string('d', BodyBytes));
        // The sender's ping is answered once the server has handled the whole flood.
        bool senderServed = await sender.PingAsync(Host, "flooded", TimeSpan.FromSeconds(ReliabilitySize.Pick(120, 2400)));
        await reading;
        double seconds = clock.Elapsed.TotalSeconds;
        var (peak, baseline) = await sampler.StopAsync();
        int spillLines = ServerLog.Count(server, "beyond the queue handed to offline storage");
        bool closedForStorage = ServerLog.Count(server, "which is not keeping up; closing the session") > 0;

        // The connection drops without a clean close: the session cannot be resumed (it
        // overflowed), so it ends and its queue goes to offline storage as well.
        await reader.DisposeAsync();
        await sender.PingAsync(Host, "settled");
        // Prosody 0.12.3 (--prosody) keeps only its last 500 unacked stanzas: wait until its store settles.
        var stored = await WaitForOfflineAsync(server, "deaf", server.Flavor.IsProsody ? null : messages, TimeSpan.FromSeconds(ReliabilitySize.Pick(60, 600)));

        long growthMib = (peak - baseline) / 1024;
        output.WriteLine($"{messages} x {BodyBytes / 1000} KB = {messages * (long)BodyBytes / 1_000_000} MB to a session that never acks, in {seconds:F1} s; " +
            $"read {received.Count} (in order: {received.SequenceEqual(Enumerable.Range(0, received.Count))}), stream error {streamError ?? "none"}, " +
            $"closed because storage fell behind: {closedForStorage}; RSS baseline {baseline / 1024} MiB, peak {peak / 1024} MiB (+{growthMib} MiB); " +
            $"{spillLines} spill batches; offline storage holds {stored.Count}, distinct {stored.Distinct().Count()}, missing {messages - stored.Distinct().Count()}");
        server.Check(() =>
        {
            Assert.True(senderServed, "the sender's ping after the flood was not answered");
            // Everything read came in order; the session may have been closed part-way (storage
            // fell behind), never without saying why.
            Assert.Equal(Enumerable.Range(0, received.Count), received);
            Assert.True(received.Count == messages || streamError == "policy-violation", $"read {received.Count} of {messages}, stream error {streamError}");
            Assert.True(spillLines > 0, "nothing was handed on from the spill");
            Assert.True(growthMib < NeverAckingGrowthMib, $"server RSS grew by {growthMib} MiB");
            // Never acknowledged, so every message is in offline storage exactly once.
            Assert.Equal(Enumerable.Range(0, messages), stored.Order());
        });
    }
}
