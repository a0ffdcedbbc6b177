using System.Collections.Concurrent;
using System.Diagnostics;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.StreamManagement.SmClient;

namespace LuaXmpp.Tests.StreamManagement;

/// <summary>
/// Many stream-managed sessions, each cut and resumed while messages to it keep flowing:
/// counts lost and duplicated messages (both must be 0) and reports resume latency. 100
/// sessions by default; LUAXMPP_SMACKS_LOAD=1000 for the full run. Timing is reported, never asserted.
/// </summary>
public sealed class SmacksLoadTests(ITestOutputHelper output)
{
    private const int PerBatch = 5; // messages per receiver before the cut, during it, and racing the resume
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static int SessionCount =>
        int.TryParse(Environment.GetEnvironmentVariable("LUAXMPP_SMACKS_LOAD"), out var n) && n > 0 ? n : 100;

    [Fact]
    public async Task CutAndResume_ManySessions_NoMessageLostOrDuplicated()
    {
        int count = SessionCount;
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string>
        {
            ["smacks_hibernation_time"] = "120",
            ["c2s_timeout"] = "120",
        }, extraModules: "register");
        var gate = new SemaphoreSlim(16);
        var users = Enumerable.Range(0, count).Select(i => "u" + i).Append("sender").ToArray();
        await Task.WhenAll(users.Select(async user =>
        {
            await gate.WaitAsync();
            try { await SmClient.RegisterAsync(server, user, SmacksServer.Password); }
            finally { gate.Release(); }
        }));

        await using var sender = await SmClient.LoginAsync(server, "sender", SmacksServer.Password, "s", Patience);
        var sendLock = new SemaphoreSlim(1);
        async Task SendBatchAsync(string to, int batch)
        {
            var text = string.Concat(Enumerable.Range(0, PerBatch).Select(k =>
                $"<message to='{to}' type='chat'><body>{batch}-{k}</body></message>"));
            await sendLock.WaitAsync();
            try { await sender.SendAsync(text); }
            finally { sendLock.Release(); }
        }

        var latencies = new ConcurrentBag<double>();
        var outcomes = new ConcurrentBag<(string User, int Lost, int Duplicated, string Problem)>();
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var user = "u" + i;
            await gate.WaitAsync();
            try
            {
                outcomes.Add(await RunOneAsync(server, user, SendBatchAsync, latencies));
            }
            catch (Exception e)
            {
                outcomes.Add((user, -1, -1, e.GetType().Name + ": " + e.Message.Split('\n')[0]));
            }
            finally
            {
                gate.Release();
            }
        }));
        total.Stop();

        var sorted = latencies.OrderBy(x => x).ToArray();
        double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        int lost = outcomes.Where(o => o.Lost > 0).Sum(o => o.Lost);
        int duplicated = outcomes.Where(o => o.Duplicated > 0).Sum(o => o.Duplicated);
        var failed = outcomes.Where(o => o.Problem != "").ToList();
        output.WriteLine($"SMACKS LOAD: sessions={count} messages={count * 3 * PerBatch} lost={lost} duplicated={duplicated} " +
            $"failed_sessions={failed.Count} resumes={sorted.Length} resume_latency_ms p50={P(0.5):F1} p99={P(0.99):F1} max={(sorted.Length > 0 ? sorted[^1] : double.NaN):F1} " +
            $"wall={total.Elapsed.TotalSeconds:F1}s");
        foreach (var f in failed.Take(10)) output.WriteLine($"  {f.User}: {f.Problem}");

        Assert.Empty(failed);
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
    }

    private static async Task<(string, int, int, string)> RunOneAsync(ServerProcess server, string user,
        Func<string, int, Task> sendBatch, ConcurrentBag<double> latencies)
    {
        var seen = new Dictionary<string, int>();
        void Count(IEnumerable<XElement> elements)
        {
            foreach (var e in elements.Where(e => e.Name.LocalName == "message"))
            {
                var body = e.Element(XName.Get("body", Client))?.Value ?? "";
                seen[body] = seen.GetValueOrDefault(body) + 1;
            }
        }

        var first = await SmClient.LoginAsync(server, user, SmacksServer.Password, "r", Patience);
        var previd = (string)(await first.EnableAsync()).Attribute("id")!;
        var jid = first.Jid!;
        await sendBatch(jid, 0);
        await first.NextAsync(e => e.Name.LocalName == "message" && e.Value.StartsWith("0-" + (PerBatch - 1)), "first batch");
        first.Abort();
        var handled = first.HandledSinceEnable;
        Count(first.Elements);
        await first.DisposeAsync();

        // The second batch goes out while the connection is gone (queued on the server); the
        // third races the resume.
        await sendBatch(jid, 1);
        await using var second = await SmClient.LoginAsync(server, user, SmacksServer.Password, null, Patience);
        var clock = Stopwatch.StartNew();
        await second.SendAsync($"<resume xmlns='{Sm3}' previd='{previd}' h='{handled}'/>");
        var third = sendBatch(jid, 2);
        var answer = await second.NextAsync(e => e.Name.NamespaceName == Sm3 && e.Name.LocalName is "resumed" or "failed", "<resumed/>");
        clock.Stop();
        await third;
        if (answer.Name.LocalName != "resumed") return (user, -1, -1, "resume failed: " + answer);
        latencies.Add(clock.Elapsed.TotalMilliseconds);

        var expected = Enumerable.Range(0, 3).SelectMany(b => Enumerable.Range(0, PerBatch).Select(k => $"{b}-{k}")).ToHashSet();
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var bodies = second.Elements.Where(e => e.Name.LocalName == "message").Select(e => e.Element(XName.Get("body", Client))?.Value).ToHashSet();
            if (expected.All(b => bodies.Contains(b) || seen.ContainsKey(b))) break;
            await second.DrainAsync(TimeSpan.FromMilliseconds(200));
        }
        await second.DrainAsync(TimeSpan.FromMilliseconds(300));
        Count(second.Elements);
        int lost = expected.Count(b => !seen.ContainsKey(b));
        int duplicated = seen.Values.Sum(n => Math.Max(0, n - 1));
        return (user, lost, duplicated, "");
    }
}
