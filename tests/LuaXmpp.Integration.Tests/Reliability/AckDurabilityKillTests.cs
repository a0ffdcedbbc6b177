using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Issue 16 item 4, "what is acknowledged is durable": a client with XEP-0198 on sends messages
/// to an offline user and asks for acks; the server is SIGKILLed right after an <c>&lt;a h/&gt;</c>
/// arrives. XEP-0198 §4: h counts handled stanzas, and the server counts a stanza only once its
/// pass has finished, offline write committed included. After the restart every acknowledged
/// message must be in the recipient's offline store (read straight from the prosodyarchive table).
/// </summary>
public sealed class AckDurabilityKillTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const string Sm3 = "urn:xmpp:sm:3";

    [Fact]
    public async Task Sigkill_RightAfterAnAck_EveryAcknowledgedOfflineMessageIsStored()
    {
        int kills = ReliabilitySize.Pick("ACK_KILLS", ci: 10, full: 100);
        int seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"{kills} kills, seed {seed}");
        // Every cycle's messages stay stored: 100 kills store ~10 000, Prosody's default quota per
        // archive (storage_archive_item_limit), past which it refuses them (--prosody run).
        await using var server = await ServerProcess.CreateAsync(output, config => config
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks"))
            .Set("storage_archive_item_limit", "1000000"));
        await server.StartAsync();

        long acknowledged = 0;
        for (int cycle = 1; cycle <= kills; cycle++)
        {
            uint acked = await SendAndKillAsync(server, cycle, register: cycle == 1, random.Next(5, 120));
            await server.StartAsync();
            var stored = StoredNumbers(server, cycle);
            var missing = Enumerable.Range(1, (int)acked).Where(n => !stored.Contains(n)).ToList();
            acknowledged += acked;
            output.WriteLine($"kill {cycle}: acknowledged h={acked}, stored {stored.Count}, acknowledged but missing {missing.Count}");
            server.Check(() =>
            {
                Assert.True(acked > 0, "no <a h/> with h > 0 before the kill");
                Assert.True(missing.Count == 0, $"kill {cycle}: acknowledged but not stored: {string.Join(", ", missing.Take(20))}");
            });
        }
        output.WriteLine($"SUMMARY kills={kills} acknowledged={acknowledged} missing=0");
    }

    /// <summary>Streams messages with an &lt;r/&gt; after each; kills the server as soon as an ack reaches <paramref name="target"/>.</summary>
    private async Task<uint> SendAndKillAsync(ServerProcess server, int cycle, bool register, int target)
    {
        if (register)
        {
            await using var sleepy = await XmppSocketClient.ConnectAsync(server.C2sPort);
            await sleepy.LoginAsync(Host, "sleepy", "pw", register: true, presence: false);
        }
        await using var sender = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await sender.LoginAsync(Host, "sender", "pw", register: register, presence: false);
        await sender.SendAsync($"<enable xmlns='{Sm3}'/>");
        await sender.WaitForAsync(e => e.Name.LocalName == "enabled", "<enabled/>");

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => SendAsync(sender, cycle, stop.Token));
        uint acked = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var element = await sender.NextAsync(TimeSpan.FromSeconds(30));
            if (element is null) break;
            if (element.Name.LocalName != "a" || element.Name.NamespaceName != Sm3) continue;
            acked = uint.Parse((string?)element.Attribute("h") ?? "0");
            if (acked >= target) break;
        }
        server.Kill();
        stop.Cancel();
        await writer;
        return acked;
    }

    private static async Task SendAsync(XmppSocketClient sender, int cycle, CancellationToken stop)
    {
        try
        {
            for (int n = 1; !stop.IsCancellationRequested; n++)
            {
                await sender.SendAsync($"<message to='sleepy@{Host}' type='chat' id='m{n}'><body>c{cycle} n{n}</body></message><r xmlns='{Sm3}'/>");
                if (n % 20 == 0) await Task.Delay(1, stop);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The server died under the writer: expected.
        }
    }

    /// <summary>The message numbers of this cycle in sleepy's offline store (SQLite, or Prosody's list file).</summary>
    private static HashSet<int> StoredNumbers(ServerProcess server, int cycle)
    {
        var prefix = $"c{cycle} n";
        return OfflineStore.Texts(server, "sleepy")
            .Where(text => text.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(text[prefix.Length..], out _))
            .Select(text => int.Parse(text[prefix.Length..])).ToHashSet();
    }
}
