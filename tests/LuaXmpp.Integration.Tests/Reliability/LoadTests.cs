using System.Collections.Concurrent;
using System.Diagnostics;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Many concurrent authenticated sessions held open while chat messages flow between random
/// pairs: no errors, no lost or duplicated messages; reports memory per session. CI: 300
/// sessions for 20 s; scripts/reliability.sh --full: 10 000 for 60 s.
/// </summary>
/// <remarks>PLAIN without TLS and internal_plain keep the client side cheap (the load is on
/// sessions and routing, not on TLS or key derivation, which other tests cover).</remarks>
public sealed class LoadTests(ITestOutputHelper output)
{
    private const string Host = "localhost";

    [Fact]
    public Task ConcurrentSessions_ExchangeMessages_WithNothingLost() => RunAsync(output, smacks: false);

    /// <summary>The load run; with <paramref name="smacks"/> every session enables XEP-0198 and acks are counted (<see cref="SmacksSessionLoadTests"/>).</summary>
    internal static async Task RunAsync(ITestOutputHelper output, bool smacks)
    {
        int sessions = ReliabilitySize.Pick("CONNECTIONS", ci: 300, full: 10_000);
        int seconds = ReliabilitySize.Pick("SECONDS", ci: 20, full: 60);
        int rate = ReliabilitySize.Pick("RATE", ci: 300, full: 1_000); // messages per second, all senders together
        await using var server = await ServerProcess.StartAsync(output, smacks ? SmacksReliabilityServer.Apply : c => c
            .Set("c2s_require_encryption", "false")
            .Set("allow_unencrypted_plain_auth", "true")
            .Set("authentication", ServerConfig.Lua("internal_plain"))
            .Set("log", c.Get("log")!.Replace("debug =", "info =", StringComparison.Ordinal)));
        int pid = ServerMemory.FindPid(server) ?? throw new InvalidOperationException("server pid not found");
        long baseline = ServerMemory.RssKib(pid);

        var clock = Stopwatch.StartNew();
        var clients = new XmppSocketClient[sessions];
        var sm = smacks ? new SmacksAckCounter[sessions] : null;
        using (var gate = new SemaphoreSlim(32))
        {
            await Task.WhenAll(Enumerable.Range(0, sessions).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    clients[i] = await XmppSocketClient.ConnectAsync(server.C2sPort);
                    await clients[i].LoginAsync(Host, "load" + i, "pw" + i, register: true);
                    if (sm is not null) sm[i] = await SmacksAckCounter.EnableAsync(clients[i]);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        double loginSeconds = clock.Elapsed.TotalSeconds;
        long loggedIn = ServerMemory.RssKib(pid);
        var received = new ConcurrentDictionary<string, int>();
        var errors = new ConcurrentQueue<string>();
        int sent = 0;
        using var stop = new CancellationTokenSource();
        var readers = clients.Select((c, i) => Task.Run(() => ReceiveAsync(c, received, errors, sm?[i], stop.Token))).ToArray();

        var random = new Random(7);
        clock.Restart();
        var sending = TimeSpan.FromSeconds(seconds);
        while (clock.Elapsed < sending)
        {
            int due = (int)(clock.Elapsed.TotalSeconds * rate) - sent;
            for (int k = 0; k < due; k++)
            {
                int fromIndex = random.Next(sessions);
                var to = clients[random.Next(sessions)];
                int n = ++sent;
                var message = $"<message to='{to.Jid}' type='chat' id='l{n}'><body>{n}</body></message>";
                await clients[fromIndex].SendAsync(sm is null ? message : sm[fromIndex].Outgoing(message, requestAck: n % 10 == 0));
            }

            await Task.Delay(10);
        }

        var drain = Stopwatch.StartNew();
        while (received.Count < sent && drain.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(100);
        long peak = ServerMemory.RssKib(pid);
        long unacked = sm is null ? 0 : await SettleAcksAsync(clients, sm);
        stop.Cancel();
        await Task.WhenAll(readers);
        bool alive = await clients[0].PingAsync(Host, "alive-at-end");
        foreach (var client in clients) await client.DisposeAsync();

        int lost = Enumerable.Range(1, sent).Count(n => !received.ContainsKey(n.ToString()));
        int duplicated = received.Values.Count(v => v > 1);
        double perSessionKib = (loggedIn - baseline) / (double)sessions;
        output.WriteLine($"{sessions} sessions logged in in {loginSeconds:F1} s ({sessions / loginSeconds:F0}/s); {sent} messages in {seconds} s; " +
            $"lost {lost}, duplicated {duplicated}, errors {errors.Count}; RSS baseline {baseline / 1024} MiB, " +
            $"with sessions {loggedIn / 1024} MiB ({perSessionKib:F1} KiB per session), after traffic {peak / 1024} MiB");
        if (sm is not null)
        {
            output.WriteLine($"stream management: {sm.Sum(c => c.AcksAnswered)} <r/> from the server answered, {sm.Sum(c => c.AcksReceived)} <a/> received; " +
                $"{sm.Sum(c => c.Sent)} stanzas sent by clients, {unacked} not acknowledged by the server at the end");
        }

        server.Check(() =>
        {
            Assert.Empty(errors);
            Assert.Equal(0, lost);
            Assert.Equal(0, duplicated);
            Assert.True(alive, "the server stopped answering");
            Assert.True(sent > 0);
            Assert.Equal(0, unacked);
            if (sm is not null) Assert.True(sm.Sum(c => c.AcksAnswered) > 0, "the server never asked for an ack");
        });
    }

    /// <summary>Asks every session for an ack until the server acknowledged all each one sent; returns what stays unacknowledged.</summary>
    private static async Task<long> SettleAcksAsync(XmppSocketClient[] clients, SmacksAckCounter[] sm)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            long unacked = sm.Sum(c => Math.Max(0, c.Sent - c.ServerAcked));
            if (unacked == 0 || clock.Elapsed > TimeSpan.FromSeconds(60)) return unacked;
            for (int i = 0; i < clients.Length; i++)
            {
                if (sm[i].ServerAcked < sm[i].Sent) await clients[i].SendAsync(SmacksAckCounter.Request);
            }

            await Task.Delay(500);
        }
    }

    private static async Task ReceiveAsync(XmppSocketClient client, ConcurrentDictionary<string, int> received, ConcurrentQueue<string> errors,
        SmacksAckCounter? sm, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var element = await client.NextAsync(TimeSpan.FromMilliseconds(500));
            if (element is null)
            {
                if (client.ClosedByServer)
                {
                    errors.Enqueue($"{client.Jid}: connection closed by the server");
                    return;
                }

                continue;
            }

            if (sm is not null && await sm.HandleAsync(client, element)) continue;
            if ((string?)element.Attribute("type") == "error" || element.Name.LocalName == "error")
            {
                errors.Enqueue($"{client.Jid}: {element}");
            }
            else if (element.Name.LocalName == "message")
            {
                received.AddOrUpdate(element.Element(XmppSocketClient.Client + "body")?.Value ?? "", 1, (_, v) => v + 1);
            }
        }
    }
}
