using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Stream management (XEP-0198) abused on purpose, on one shared server with bystanders: a burst
/// of 10 000 &lt;r/&gt;, &lt;resume/&gt; with unknown ids and broken h values, &lt;a/&gt; with a broken h,
/// and a resume racing stanzas still arriving on the old connection. Already covered in
/// StreamManagement/ (not repeated): &lt;a h&gt; beyond what was sent, enabling twice, enabling
/// before bind, resuming after bind, resuming another user's session.
/// </summary>
public sealed class SmacksAbuseTests(SmacksReliabilityServer shared, ITestOutputHelper output) : IClassFixture<SmacksReliabilityServer>
{
    private const string Sm3 = "urn:xmpp:sm:3";
    private const string Host = SmacksReliabilityServer.Host;
    private const string Password = "secret";

    /// <summary>
    /// XEP-0198 §4: a party receiving &lt;r/&gt; MUST answer with &lt;a/&gt; — Prosody answers each one,
    /// no coalescing, and so do we: 10 000 requests in one write get 10 000 answers, all with the
    /// same h, the session keeps working and memory stays bounded.
    /// </summary>
    [Fact]
    public async Task RequestBurst_10000_EachAnsweredWithAck_SessionAndBystandersUnaffected()
    {
        const int burst = 10_000;
        var (client, _, _) = await EnabledSessionAsync();
        await using var _client = client;
        int pid = ServerMemory.FindPid(shared.Server) ?? throw new InvalidOperationException("no server pid");
        long before = ServerMemory.RssKib(pid);
        shared.Bystanders.Begin();

        // One stanza first, so every <a/> must say h='1'.
        Assert.True(await client.PingAsync(Host, "before"));
        await client.SendAsync(string.Concat(Enumerable.Repeat($"<r xmlns='{Sm3}'/>", burst)));
        int acks = 0, wrongH = 0;
        long peak = before;
        var other = new List<string>();
        while (acks < burst)
        {
            var element = await client.NextAsync(TimeSpan.FromSeconds(30));
            if (element is null) break;
            if (element.Name == XName.Get("a", Sm3))
            {
                acks++;
                if ((string?)element.Attribute("h") != "1") wrongH++;
                if (acks % 1000 == 0) peak = Math.Max(peak, ServerMemory.RssKib(pid));
            }
            else if (element.Name == XName.Get("r", Sm3))
            {
                await client.SendAsync($"<a xmlns='{Sm3}' h='1'/>"); // the ping result
            }
            else
            {
                other.Add(element.ToString(SaveOptions.DisableFormatting));
            }
        }

        bool alive = await client.PingAsync(Host, "after");
        await shared.Bystanders.StopAsync();
        output.WriteLine($"{burst} <r/> in one write: {acks} <a/> back ({wrongH} with a wrong h), other elements {other.Count}; " +
            $"server RSS {before / 1024} → peak {peak / 1024} MiB; bystanders exchanged {shared.Bystanders.Delivered}");
        shared.Server.Check(() =>
        {
            Assert.Equal(burst, acks);
            Assert.Equal(0, wrongH);
            Assert.Empty(other);
            Assert.True(alive, "the session stopped answering after the burst");
            Assert.False(client.ClosedByServer);
            Assert.True(peak - before < 64 * 1024, $"RSS grew by {(peak - before) / 1024} MiB");
            Assert.Empty(shared.Bystanders.Problems);
            Assert.True(shared.Bystanders.Delivered > 0);
        });
    }

    /// <summary>XEP-0198 §5: an unknown previd fails with item-not-found (no h); the stream stays usable: bind works.</summary>
    [Theory]
    [InlineData("no-such-session")]
    [InlineData("")]
    [InlineData("&lt;x&gt;&amp;'\"")]
    [InlineData("LONG")]
    public async Task Resume_UnknownPrevid_FailsItemNotFound_AndTheStreamCanBind(string previd)
    {
        if (previd == "LONG") previd = new string('p', 10_000);
        var user = await RegisteredUserAsync();
        await using var client = await AuthenticatedAsync(user);

        var answer = await ResumeAsync(client, previd.Replace("'", "&apos;", StringComparison.Ordinal), "0");
        await client.SendAsync("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>after-failed</resource></bind></iq>");
        var bound = await client.WaitForAsync(e => (string?)e.Attribute("id") == "bind", "bind result");
        bool alive = await client.PingAsync(Host, "alive");
        await shared.Bystanders.ExchangeOnceAsync();

        shared.Server.Check(() =>
        {
            Assert.Equal("failed", answer.Name.LocalName);
            Assert.Equal("item-not-found", Condition(answer));
            Assert.Null(answer.Attribute("h"));
            Assert.Equal("result", (string?)bound.Attribute("type"));
            Assert.True(alive);
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    /// <summary>
    /// h is an xs:unsignedInt (XEP-0198 §4): anything else in &lt;resume/&gt; fails with bad-request,
    /// and leaves the hibernating session alone — the same stream then resumes it with a valid h.
    /// </summary>
    [Theory]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1e0")]
    [InlineData("4294967296")]
    [InlineData("99999999999999999999")]
    [InlineData("")]
    public async Task Resume_InvalidH_FailsBadRequest_AndTheSessionSurvives(string h)
    {
        var (first, user, previd) = await EnabledSessionAsync();
        await first.DisposeAsync(); // the connection drops: the session hibernates
        await using var client = await AuthenticatedAsync(user);

        var bad = await ResumeAsync(client, previd, h);
        var good = await ResumeAsync(client, previd, "0");
        bool alive = await client.PingAsync(Host, "alive");

        shared.Server.Check(() =>
        {
            Assert.Equal("failed", bad.Name.LocalName);
            Assert.Equal("bad-request", Condition(bad));
            Assert.Equal("resumed", good.Name.LocalName);
            Assert.True(alive);
        });
    }

    /// <summary>
    /// &lt;a/&gt; with an h that is not an unsignedInt: the stream closes with invalid-xml (as Prosody
    /// does), and the session is not kept for resumption.
    /// </summary>
    [Theory]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("4294967296")]
    [InlineData(null)]
    public async Task Ack_NonNumericH_ClosesStreamWithInvalidXml_NotResumable(string? h)
    {
        var (client, user, previd) = await EnabledSessionAsync();
        await using var _client = client;
        await client.SendAsync(h is null ? $"<a xmlns='{Sm3}'/>" : $"<a xmlns='{Sm3}' h='{h}'/>");
        var (closed, elements) = await client.ReadToEndAsync();
        await using var again = await AuthenticatedAsync(user);
        var resume = await ResumeAsync(again, previd, "0");
        await shared.Bystanders.ExchangeOnceAsync();

        shared.Server.Check(() =>
        {
            var error = Assert.Single(elements, e => e.Name == XName.Get("error", XmppSocketClient.StreamsNs));
            Assert.Equal("invalid-xml", XmppSocketClient.ErrorCondition(error));
            Assert.True(closed && client.StreamClosed);
            Assert.Equal("failed", resume.Name.LocalName);
            Assert.Equal("item-not-found", Condition(resume));
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    /// <summary>
    /// Regression: a client resumes while its old connection (half-open from its side) still has
    /// pipelined messages in the server's hands. The server must count in &lt;resumed h/&gt; exactly
    /// what it handled: no stanza from the old connection may be handled after the resume, or the
    /// client's re-send would deliver it twice.
    /// </summary>
    [Fact]
    public async Task Resume_WhileOldConnectionStillDelivering_EachMessageArrivesOnce()
    {
        const int attempts = 8, perAttempt = 3_000;
        var sinkUser = await RegisteredUserAsync();
        await using var sink = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        var sinkJid = await sink.LoginAsync(Host, sinkUser, Password, "sink", presence: false);
        int raced = 0;
        var problems = new List<string>();
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            var (old, user, previd) = await EnabledSessionAsync();
            string Message(int n) => $"<message to='{sinkJid}' type='chat' id='{attempt}-{n}'><body>{attempt} {n}</body></message>";
            await old.SendAsync(string.Concat(Enumerable.Range(1, perAttempt).Select(Message)));
            // Resume at once, without closing the old connection (its user thinks it is dead).
            await using var fresh = await AuthenticatedAsync(user);
            var resumed = await ResumeAsync(fresh, previd, "0");
            if (resumed.Name.LocalName != "resumed")
            {
                problems.Add($"attempt {attempt}: {resumed}");
                await old.DisposeAsync();
                continue;
            }

            int handled = int.Parse((string)resumed.Attribute("h")!);
            if (handled < perAttempt) raced++;
            await fresh.SendAsync(string.Concat(Enumerable.Range(handled + 1, perAttempt - handled).Select(Message)));
            // An end marker sent after the re-sends arrives after everything else (one route, in order).
            await fresh.SendAsync($"<message to='{sinkJid}' type='chat'><body>end {attempt}</body></message>");
            var received = new List<XElement>();
            await sink.WaitForAsync(e => e.Element(XmppSocketClient.Client + "body")?.Value == $"end {attempt}", "end marker",
                TimeSpan.FromSeconds(30), received);
            var counts = new Dictionary<int, int>();
            foreach (var got in received)
            {
                var body = got.Element(XmppSocketClient.Client + "body")?.Value.Split(' ');
                if (body is not [var a, var n] || a != attempt.ToString()) continue;
                counts[int.Parse(n)] = counts.GetValueOrDefault(int.Parse(n)) + 1;
            }

            int lost = perAttempt - counts.Count;
            int duplicated = counts.Values.Sum(v => v - 1);
            if (lost + duplicated > 0) problems.Add($"attempt {attempt}: resumed h={handled}, lost {lost}, duplicated {duplicated}");
            await old.DisposeAsync();
        }

        output.WriteLine($"{attempts} resumes racing {perAttempt} pipelined messages; {raced} resumed before all were handled; problems: {problems.Count}");
        foreach (var p in problems) output.WriteLine("  " + p);
        shared.Server.Check(() => Assert.Empty(problems));
    }

    /// <summary>
    /// Regression (found by <see cref="SmacksCutTests"/> at 10 000 cuts: one "Unknown session"):
    /// the client resumes from connection 1 (which the server is still closing: its writer is
    /// stuck behind megabytes the client never read) onto connection 2, which drops at once, so
    /// the session hibernates. Connection 1's late disconnect must not destroy the hibernating
    /// session: a third connection resumes it and gets every message.
    /// </summary>
    [Fact]
    public async Task Resume_OntoConnectionThatDrops_WhileFirstStillClosing_SessionStaysResumable()
    {
        const int messages = 100;
        // ~6 MB that connection 1 never reads: more than the socket buffers hold (4 MB send
        // buffer at most), so a queue of 4 000 (its byte bound 8 MiB; the default 500 holds
        // 1 000 KiB) on a server of its own.
        await using var server = await SmacksReliabilityServer.StartAsync(output, c => c.Set("smacks_max_queue_size", "4000"));
        var (first, user, previd) = await EnabledSessionAsync(server);
        await using var _first = first;
        await using var peer = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await peer.LoginAsync(Host, shared.NextUser("peer"), Password, register: true, presence: false);
        var body = new string('x', 60_000);
        for (int i = 0; i < messages; i++) await peer.SendAsync($"<message to='{first.Jid}' type='chat' id='big{i}'><body>{i} {body}</body></message>");
        Assert.True(await peer.PingAsync(Host, "routed", TimeSpan.FromSeconds(60)));

        var second = await AuthenticatedAsync(user, server);
        var resumed = await ResumeAsync(second, previd, "0");
        await second.DisposeAsync(); // drops with megabytes unread: the session hibernates
        await Task.Delay(500); // let the server see it before connection 1 is let go
        var (firstClosed, _) = await first.ReadToEndAsync(TimeSpan.FromSeconds(30)); // now connection 1 finishes closing

        await using var third = await AuthenticatedAsync(user, server);
        var again = await ResumeAsync(third, previd, "0");
        int received = 0;
        while (received < messages && again.Name.LocalName == "resumed")
        {
            var element = await third.NextAsync(TimeSpan.FromSeconds(30));
            if (element is null) break;
            if (element.Name == XmppSocketClient.Client + "message") received++;
        }

        server.Check(() =>
        {
            Assert.Equal("resumed", resumed.Name.LocalName);
            Assert.True(firstClosed, "the server did not close connection 1 after the resume");
            Assert.Equal("resumed", again.Name.LocalName);
            Assert.Equal(messages, received);
        });
    }

    private static string? Condition(XElement failed) =>
        failed.Elements().FirstOrDefault(e => e.Name.NamespaceName == XmppSocketClient.StanzasNs)?.Name.LocalName;

    private async Task<string> RegisteredUserAsync()
    {
        var user = shared.NextUser("sm");
        await using var client = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await client.OpenStreamAsync(Host);
        var reply = await client.RegisterAsync(user, Password);
        Assert.Equal("result", (string?)reply.Attribute("type"));
        return user;
    }

    /// <summary>A fresh account, logged in and bound, with resumable stream management enabled.</summary>
    private async Task<(XmppSocketClient Client, string User, string Previd)> EnabledSessionAsync(ServerProcess? server = null)
    {
        var user = shared.NextUser("sm");
        var client = await XmppSocketClient.ConnectAsync((server ?? shared.Server).C2sPort);
        await client.LoginAsync(Host, user, Password, register: true, presence: false);
        await client.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var enabled = await client.WaitForAsync(e => e.Name.NamespaceName == Sm3, "<enabled/>");
        Assert.Equal("enabled", enabled.Name.LocalName);
        return (client, user, (string)enabled.Attribute("id")!);
    }

    /// <summary>Authenticated with PLAIN and the stream restarted, but not bound: ready for &lt;resume/&gt;.</summary>
    private async Task<XmppSocketClient> AuthenticatedAsync(string user, ServerProcess? server = null)
    {
        var client = await XmppSocketClient.ConnectAsync((server ?? shared.Server).C2sPort);
        await client.OpenStreamAsync(Host);
        var outcome = await client.AuthPlainAsync(user, Password);
        Assert.Equal("success", outcome.Name.LocalName);
        await client.OpenStreamAsync(Host);
        return client;
    }

    private static async Task<XElement> ResumeAsync(XmppSocketClient client, string previd, string h)
    {
        await client.SendAsync($"<resume xmlns='{Sm3}' previd='{previd}' h='{h}'/>");
        return await client.WaitForAsync(e => e.Name.NamespaceName == Sm3 && e.Name.LocalName is "resumed" or "failed", "<resumed/> or <failed/>");
    }
}
