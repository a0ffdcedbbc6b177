using Dapper;
using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;
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
        await using var server = await ServerProcess.CreateAsync(output, config =>
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks")));
        await server.StartAsync();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");

        long acknowledged = 0;
        for (int cycle = 1; cycle <= kills; cycle++)
        {
            uint acked = await SendAndKillAsync(server, cycle, register: cycle == 1, random.Next(5, 120));
            await server.StartAsync();
            var stored = StoredNumbers(file, cycle);
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

    /// <summary>The message numbers of this cycle in sleepy's offline store.</summary>
    private static HashSet<int> StoredNumbers(string file, int cycle)
    {
        SQLitePCL.Batteries_V2.Init();
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        db.Open();
        db.Execute("PRAGMA busy_timeout=5000;");
        var prefix = $"c{cycle} n";
        var numbers = new HashSet<int>();
        foreach (var value in db.Query<string>("""SELECT "value" FROM "prosodyarchive" WHERE "store"='offline' AND "user"='sleepy'"""))
        {
            var body = XmppSocketClient.Parse(value).Element(XmppSocketClient.Client + "body")?.Value;
            if (body is not null && body.StartsWith(prefix, StringComparison.Ordinal)) numbers.Add(int.Parse(body[prefix.Length..]));
        }
        return numbers;
    }
}
