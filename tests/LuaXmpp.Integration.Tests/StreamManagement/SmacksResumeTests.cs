using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.StreamManagement.SmClient;

namespace LuaXmpp.Tests.StreamManagement;

/// <summary>XEP-0198 §5 resumption and hibernation against the real server, with short timers.</summary>
public sealed class SmacksResumeTests(ITestOutputHelper output)
{
    private static bool Is(XElement e, string name, string ns = Sm3) => e.Name.LocalName == name && e.Name.NamespaceName == ns;

    private static bool IsMessage(XElement e, string body) =>
        e.Name.LocalName == "message" && e.Element(XName.Get("body", Client))?.Value == body;

    private static string Body(XElement e) => e.Element(XName.Get("body", Client))?.Value ?? "";

    private static Task SendMessageAsync(SmClient from, string to, string body) =>
        from.SendAsync($"<message to='{to}' type='chat' id='{body}'><body>{body}</body></message>");

    private static async Task<XElement> ResumeAsync(SmClient client, string previd, long h)
    {
        await client.SendAsync($"<resume xmlns='{Sm3}' previd='{previd}' h='{h}'/>");
        return await client.NextAsync(e => Is(e, "resumed") || Is(e, "failed"), "<resumed/> or <failed/>");
    }

    private static async Task WaitForLogAsync(ServerProcess server, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (new StreamReader(stream).ReadToEnd().Contains(text)) return;
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException($"'{text}' never appeared in the server log\n{server.Describe()}");
    }

    // Logged in with stream management enabled and resumable; the resumption id.
    private static async Task<(SmClient Client, string Previd)> LoginResumableAsync(ServerProcess server, string user)
    {
        var client = await SmacksServer.LoginAsync(server, user);
        return (client, (string)(await client.EnableAsync()).Attribute("id")!);
    }

    private static Dictionary<string, string> Options(params (string Key, string Value)[] options) =>
        options.ToDictionary(o => o.Key, o => o.Value);

    [Fact]
    public async Task Resume_AfterConnectionCut_ResendsUnackedOnceInOrder_AndFiresEvents()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        var (alice, previd) = await LoginResumableAsync(server, "alice");
        var aliceJid = alice.Jid!;
        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "p1", "ping result");

        await SendMessageAsync(bob, aliceJid, "m1");
        await SendMessageAsync(bob, aliceJid, "m2");
        await alice.NextAsync(e => IsMessage(e, "m2"), "m2");
        alice.Abort();
        await alice.DisposeAsync();
        var start = await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");
        Assert.Contains($"origin={aliceJid}", Assert.Single(start));
        Assert.Contains("queue=3", start[0]); // ping result, m1, m2: nothing acked

        await SendMessageAsync(bob, aliceJid, "m3");
        await SendMessageAsync(bob, aliceJid, "m4");
        var queued = await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-stanza-queued", 2);
        Assert.Equal(2, queued.Count);
        Assert.Contains("stanza=message", queued[1]);
        Assert.Contains("queue=5", queued[1]);

        await using var resumed = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var answer = await ResumeAsync(resumed, previd, 2); // acks the ping result and m1
        Assert.True(Is(answer, "resumed"), answer.ToString());
        Assert.Equal(previd, (string?)answer.Attribute("previd"));
        Assert.Equal("1", (string?)answer.Attribute("h")); // alice sent one stanza (the ping)

        var m2 = await resumed.NextAsync(e => e.Name.LocalName == "message", "m2 re-sent");
        var m3 = await resumed.NextAsync(e => e.Name.LocalName == "message", "m3 re-sent");
        var m4 = await resumed.NextAsync(e => e.Name.LocalName == "message", "m4 re-sent");
        Assert.Equal(["m2", "m3", "m4"], new[] { Body(m2), Body(m3), Body(m4) });
        await resumed.DrainAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(3, resumed.Elements.Count(e => e.Name.LocalName == "message"));

        var end = await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-end");
        Assert.Contains($"resumed={aliceJid}", Assert.Single(end));
        Assert.Contains("queue=3", end[0]);

        // The resumed session is the same bound session: it sends as alice's old full JID.
        await SendMessageAsync(resumed, bob.Jid!, "after");
        var after = await bob.NextAsync(e => IsMessage(e, "after"), "message from the resumed session");
        Assert.Equal(aliceJid, (string?)after.Attribute("from"));
    }

    [Fact]
    public async Task Resume_OfALongQueue_ResendsItBeforeAnythingNew_EachStanzaOnce()
    {
        // XEP-0198 §5: the re-send follows <resumed/> in slices (src/Core/StreamManagement); a
        // stanza routed to the session meanwhile (here alice's own message to herself, pipelined
        // right after <resume/>) must neither overtake the queue nor arrive twice.
        const int queued = 300;
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        var (alice, previd) = await LoginResumableAsync(server, "alice");
        var aliceJid = alice.Jid!;
        await bob.SendAsync(string.Concat(Enumerable.Range(0, queued).Select(i =>
            $"<message to='{aliceJid}' type='chat' id='q{i}'><body>q{i}</body></message>")));
        await alice.NextAsync(e => IsMessage(e, $"q{queued - 1}"), "the last message before the cut");
        alice.Abort(); // nothing acknowledged: all of them are re-sent
        await alice.DisposeAsync();
        await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");

        await using var resumed = await SmacksServer.LoginAsync(server, "alice", resource: null);
        await resumed.SendAsync($"<resume xmlns='{Sm3}' previd='{previd}' h='0'/>"
            + $"<message to='{aliceJid}' type='chat' id='live'><body>live</body></message>");
        var answer = await resumed.NextAsync(e => Is(e, "resumed") || Is(e, "failed"), "<resumed/> or <failed/>");
        Assert.True(Is(answer, "resumed"), answer.ToString());
        await resumed.NextAsync(e => IsMessage(e, "live"), "the live message");
        await resumed.DrainAsync(TimeSpan.FromMilliseconds(300));

        var bodies = resumed.Elements.Where(e => e.Name.LocalName == "message").Select(Body).ToArray();
        Assert.Equal([.. Enumerable.Range(0, queued).Select(i => $"q{i}"), "live"], bodies);
        Assert.True(resumed.Elements.ToList().FindIndex(e => Is(e, "resumed")) < resumed.Elements.ToList().FindIndex(e => e.Name.LocalName == "message"),
            "<resumed/> comes before the re-sent stanzas");
        Assert.Contains($"resumed={aliceJid}", Assert.Single(await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-end")));
    }

    [Fact]
    public async Task Resume_ByAnotherUser_FailsWithItemNotFound_AndLeavesTheSession()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "mallory");
        var alice = await SmacksServer.LoginAsync(server, "alice");
        var previd = (string)(await alice.EnableAsync()).Attribute("id")!;
        alice.Abort();
        await alice.DisposeAsync();
        await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");

        await using var mallory = await SmacksServer.LoginAsync(server, "mallory", resource: null);
        var failed = await ResumeAsync(mallory, previd, 0);
        Assert.True(Is(failed, "failed"), failed.ToString());
        Assert.NotNull(failed.Element(XName.Get("item-not-found", Stanzas)));
        Assert.Null(failed.Attribute("h"));

        await using var again = await SmacksServer.LoginAsync(server, "alice", resource: null);
        Assert.True(Is(await ResumeAsync(again, previd, 0), "resumed"));
    }

    [Fact]
    public async Task Resume_AfterHibernationTimeout_FailsWithKnownH_ThenUnknown()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_hibernation_time", "1")));
        await SmacksServer.RegisterAsync(server, "alice");
        var alice = await SmacksServer.LoginAsync(server, "alice");
        var enabled = await alice.EnableAsync();
        Assert.Equal("1", (string?)enabled.Attribute("max"));
        var previd = (string)enabled.Attribute("id")!;
        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.SendAsync("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "p2", "second ping result");
        alice.Abort();
        await alice.DisposeAsync();
        await WaitForLogAsync(server, "Hibernating too long");

        await using var late = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var failed = await ResumeAsync(late, previd, 0);
        Assert.True(Is(failed, "failed"), failed.ToString());
        Assert.NotNull(failed.Element(XName.Get("item-not-found", Stanzas)));
        Assert.Equal("2", (string?)failed.Attribute("h"));

        var second = await ResumeAsync(late, previd, 0);
        Assert.Null(second.Attribute("h"));
    }

    [Fact]
    public async Task Enable_ClientMaxBelowHibernationTime_IsHonoured()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_hibernation_time", "600")));
        await SmacksServer.RegisterAsync(server, "alice");
        var alice = await SmacksServer.LoginAsync(server, "alice");
        var enabled = await alice.EnableAsync(extra: " max='1'");
        Assert.Equal("1", (string?)enabled.Attribute("max"));
        alice.Abort();
        await alice.DisposeAsync();

        await WaitForLogAsync(server, "Hibernating too long", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Timeout_OfLastSession_SendsMessagesToOffline_AndBouncesOtherStanzas()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_hibernation_time", "1")));
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();
        var aliceJid = alice.Jid!;
        await SendMessageAsync(bob, aliceJid, "unacked");
        await alice.NextAsync(e => IsMessage(e, "unacked"), "message before the cut");
        alice.Abort();
        await alice.DisposeAsync();
        await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");
        await SendMessageAsync(bob, aliceJid, "queued");
        await bob.SendAsync($"<iq type='get' id='v1' to='{aliceJid}'><query xmlns='jabber:iq:version'/></iq>");
        await WaitForLogAsync(server, "Hibernating too long");

        var bounce = await bob.NextAsync(e => (string?)e.Attribute("id") == "v1" && (string?)e.Attribute("type") == "error", "iq bounce");
        Assert.NotNull(bounce.Descendants(XName.Get("recipient-unavailable", Stanzas)).FirstOrDefault());
        await bob.DrainAsync(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(bob.Elements, e => e.Name.LocalName == "message" && (string?)e.Attribute("type") == "error");

        await using var back = await SmacksServer.LoginAsync(server, "alice", "r2");
        await back.SendAsync("<presence/>");
        await back.NextAsync(e => IsMessage(e, "unacked"), "unacked message from offline storage");
        await back.NextAsync(e => IsMessage(e, "queued"), "queued message from offline storage");
    }

    [Fact]
    public async Task Timeout_WithOtherSessionLeft_BouncesUnackedWithRecipientUnavailable()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_hibernation_time", "1")));
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        await using var other = await SmacksServer.LoginAsync(server, "alice", "other");
        var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();
        var aliceJid = alice.Jid!;
        await SendMessageAsync(bob, aliceJid, "lost?");
        await alice.NextAsync(e => IsMessage(e, "lost?"), "message before the cut");
        alice.Abort();
        await alice.DisposeAsync();
        await WaitForLogAsync(server, "Hibernating too long");

        var bounce = await bob.NextAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("type") == "error", "message bounce");
        Assert.Equal("lost?", (string?)bounce.Attribute("id"));
        Assert.NotNull(bounce.Descendants(XName.Get("recipient-unavailable", Stanzas)).FirstOrDefault());
    }

    [Fact]
    public async Task MaxHibernatedSessions_EvictsTheOldest_KeepingItsH()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_max_hibernated_sessions", "1")));
        await SmacksServer.RegisterAsync(server, "alice");
        var first = await SmacksServer.LoginAsync(server, "alice", "one");
        var firstId = (string)(await first.EnableAsync()).Attribute("id")!;
        await first.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await first.NextAsync(e => (string?)e.Attribute("id") == "p1", "ping result");
        first.Abort();
        await first.DisposeAsync();
        await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");
        var second = await SmacksServer.LoginAsync(server, "alice", "two");
        var secondId = (string)(await second.EnableAsync()).Attribute("id")!;
        second.Abort();
        await second.DisposeAsync();
        await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start", 2);
        await WaitForLogAsync(server, "Too many hibernating sessions");

        await using var late = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var failed = await ResumeAsync(late, firstId, 0);
        Assert.True(Is(failed, "failed"), failed.ToString());
        Assert.Equal("1", (string?)failed.Attribute("h"));
        Assert.True(Is(await ResumeAsync(late, secondId, 0), "resumed"));
    }

    [Fact]
    public async Task MaxOldSessions_KeepsOnlyTheNewestH()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_hibernation_time", "1"), ("smacks_max_old_sessions", "1")));
        await SmacksServer.RegisterAsync(server, "alice");
        var ids = new List<string>();
        foreach (var resource in new[] { "one", "two" })
        {
            var client = await SmacksServer.LoginAsync(server, "alice", resource);
            ids.Add((string)(await client.EnableAsync()).Attribute("id")!);
            client.Abort();
            await client.DisposeAsync();
            await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start", ids.Count);
            // Expire one before the next starts, so the two are ordered in time.
            await Task.Delay(TimeSpan.FromSeconds(2.2));
        }

        await using var late = await SmacksServer.LoginAsync(server, "alice", resource: null);
        Assert.Null((await ResumeAsync(late, ids[0], 0)).Attribute("h"));
        Assert.Equal("0", (string?)(await ResumeAsync(late, ids[1], 0)).Attribute("h"));
    }

    [Fact]
    public async Task QueueOverflow_FailsResumeWithResourceConstraint_AndNothingIsLost()
    {
        await using var server = await SmacksServer.StartAsync(output, Options(("smacks_max_queue_size", "2"), ("smacks_max_unacked_stanzas", "100")));
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        var previd = (string)(await alice.EnableAsync()).Attribute("id")!;
        foreach (var body in new[] { "o1", "o2", "o3" }) await SendMessageAsync(bob, alice.Jid!, body);
        await alice.NextAsync(e => IsMessage(e, "o3"), "o3");

        await using var resuming = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var failed = await ResumeAsync(resuming, previd, 0);
        Assert.True(Is(failed, "failed"), failed.ToString());
        Assert.NotNull(failed.Element(XName.Get("resource-constraint", Stanzas)));
        Assert.Contains("cannot be resumed", failed.Element(XName.Get("text", Stanzas))?.Value);
        Assert.False(resuming.ClosedByServer);

        // The client carries on with a fresh session; all three messages come from offline storage.
        await resuming.SendAsync($"<iq type='set' id='bind'><bind xmlns='{RawXmppClient.BindNs}'><resource>fresh</resource></bind></iq>");
        await resuming.NextAsync(e => (string?)e.Attribute("id") == "bind", "bind");
        await resuming.SendAsync("<presence/>");
        foreach (var body in new[] { "o1", "o2", "o3" }) await resuming.NextAsync(e => IsMessage(e, body), body + " from offline storage");
    }

    [Fact]
    public async Task Resume_OfStillConnectedSession_ReplacesTheOldConnection()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        await using var old = await SmacksServer.LoginAsync(server, "alice");
        var previd = (string)(await old.EnableAsync()).Attribute("id")!;

        await using var fresh = await SmacksServer.LoginAsync(server, "alice", resource: null);
        Assert.True(Is(await ResumeAsync(fresh, previd, 0), "resumed"));
        Assert.True(await old.WaitClosedAsync());

        await SendMessageAsync(bob, old.Jid!, "to-new");
        await fresh.NextAsync(e => IsMessage(e, "to-new"), "message on the new connection");
        Assert.Empty(SmacksServer.Events(server, "smacks-hibernation-start"));
    }

    [Fact]
    public async Task ServerShutdown_ExpiresHibernatingSessions_MessagesSurviveRestart_HKept()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        var previd = "";
        {
            await using var bob = await SmacksServer.LoginAsync(server, "bob");
            var alice = await SmacksServer.LoginAsync(server, "alice");
            previd = (string)(await alice.EnableAsync()).Attribute("id")!;
            await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
            await alice.NextAsync(e => (string?)e.Attribute("id") == "p1", "ping result");
            alice.Abort();
            await alice.DisposeAsync();
            await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-start");
            await SendMessageAsync(bob, "alice@localhost/r1", "kept");
            await SmacksServer.WaitForEventAsync(server, "smacks-hibernation-stanza-queued");
        }
        await server.StopAsync();
        await server.StartAsync();

        await using var back = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var failed = await ResumeAsync(back, previd, 0);
        Assert.True(Is(failed, "failed"), failed.ToString());
        Assert.Equal("1", (string?)failed.Attribute("h"));
        await back.SendAsync($"<iq type='set' id='bind'><bind xmlns='{RawXmppClient.BindNs}'><resource>again</resource></bind></iq>");
        await back.NextAsync(e => (string?)e.Attribute("id") == "bind", "bind");
        await back.SendAsync("<presence/>");
        await back.NextAsync(e => IsMessage(e, "kept"), "the queued message from offline storage");
    }
}
