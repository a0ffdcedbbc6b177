using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.StreamManagement.SmClient;

namespace LuaXmpp.Tests.StreamManagement;

/// <summary>XEP-0198 on the wire against the real server: negotiation, counting, acks, errors.</summary>
public sealed class SmacksProtocolTests(ITestOutputHelper output)
{
    private static bool Is(XElement e, string name, string ns = Sm3) => e.Name.LocalName == name && e.Name.NamespaceName == ns;

    private static uint H(XElement e) => uint.Parse((string?)e.Attribute("h") ?? throw new InvalidOperationException("no h on " + e));

    [Fact]
    public async Task Features_OfferSm2AndSm3_AfterAuthenticationOnly()
    {
        // The s2s options are accepted (no effect until s2s exists) and change nothing for c2s.
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string>
        {
            ["smacks_enabled_s2s"] = "false",
            ["smacks_s2s_resend"] = "true",
        });
        await SmacksServer.RegisterAsync(server, "alice");
        await using var client = await SmClient.ConnectAsync(server);

        var before = await client.OpenStreamAsync(server.Host);
        Assert.DoesNotContain(before.Elements(), e => e.Name.LocalName == "sm");

        await using var alice = await SmacksServer.LoginAsync(server, "alice", resource: null);
        var after = alice.Features!;
        Assert.Contains(after.Elements(), e => e.Name == XName.Get("sm", "urn:xmpp:sm:3"));
        Assert.Contains(after.Elements(), e => e.Name == XName.Get("sm", "urn:xmpp:sm:2"));
    }

    [Fact]
    public async Task Enable_AnswersEnabledWithIdAndMax_AndCountsMessagePresenceIq()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");

        var enabled = await alice.EnableAsync();
        Assert.False(string.IsNullOrEmpty((string?)enabled.Attribute("id")));
        Assert.Equal("true", (string?)enabled.Attribute("resume"));
        Assert.Equal("600", (string?)enabled.Attribute("max"));

        // Inbound: an iq, a presence and a message from alice count 3.
        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.SendAsync("<presence/>");
        await alice.SendAsync($"<message to='{bob.Jid}' type='chat'><body>hi</body></message>");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        var a = await alice.NextAsync(e => Is(e, "a"), "<a/>");
        Assert.Equal(3u, H(a));

        // Outbound: the ping result and alice's own presence reflection arrive; bob's message too.
        await bob.SendAsync($"<message to='{alice.Jid}' type='chat'><body>back</body></message>");
        await alice.NextAsync(e => e.Name.LocalName == "message", "bob's message");
        var r = await alice.NextAsync(e => Is(e, "r"), "<r/> from the server");
        Assert.NotNull(r);
        int handled = alice.HandledSinceEnable;
        Assert.True(handled >= 2, $"expected at least the ping result and the message, got {handled}");
        await alice.SendAsync($"<a xmlns='{Sm3}' h='{handled}'/>");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        var a2 = await alice.NextAsync(e => Is(e, "a"), "second <a/>");
        Assert.Equal(3u, H(a2));
        Assert.False(alice.ClosedByServer);
    }

    [Fact]
    public async Task Enable_Twice_FailsWithUnexpectedRequest()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        await alice.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var failed = await alice.NextAsync(e => Is(e, "failed"), "<failed/>");

        Assert.NotNull(failed.Element(XName.Get("unexpected-request", Stanzas)));
        Assert.False(alice.ClosedByServer);
    }

    [Fact]
    public async Task Enable_BeforeBind_FailsWithUnexpectedRequest()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice", resource: null);

        await alice.SendAsync($"<enable xmlns='{Sm3}'/>");
        var failed = await alice.NextAsync(e => Is(e, "failed"), "<failed/>");

        Assert.NotNull(failed.Element(XName.Get("unexpected-request", Stanzas)));
    }

    [Fact]
    public async Task Resume_AfterBind_FailsWithUnexpectedRequest()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var first = await SmacksServer.LoginAsync(server, "alice", "one");
        var id = (string)(await first.EnableAsync()).Attribute("id")!;
        await using var second = await SmacksServer.LoginAsync(server, "alice", "two");

        await second.SendAsync($"<resume xmlns='{Sm3}' previd='{id}' h='0'/>");
        var failed = await second.NextAsync(e => Is(e, "failed"), "<failed/>");

        Assert.NotNull(failed.Element(XName.Get("unexpected-request", Stanzas)));
    }

    [Fact]
    public async Task Ack_BeyondSent_ClosesStreamWithUndefinedCondition_NamingBothNumbers()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();
        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "p1", "ping result");

        await alice.SendAsync($"<a xmlns='{Sm3}' h='7'/>");

        Assert.True(await alice.WaitClosedAsync());
        var error = alice.Elements.Single(e => e.Name.LocalName == "error");
        Assert.NotNull(error.Element(XName.Get("undefined-condition", "urn:ietf:params:xml:ns:xmpp-streams")));
        var text = error.Element(XName.Get("text", "urn:ietf:params:xml:ns:xmpp-streams"))?.Value ?? "";
        Assert.Contains("7", text);
        Assert.Contains("1", text);
    }

    [Fact]
    public async Task Counters_WrapAroundAt2Pow32_InBothDirections()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        // Both counters jump to 2^32 - 1; the iq's own result is then outbound stanza 0 (wrapped).
        await alice.SendAsync("<iq type='set' id='c1'><counters xmlns='urn:test:smacks' in='4294967295' out='4294967295'/></iq>");
        var counters = await alice.NextAsync(e => (string?)e.Attribute("id") == "c1", "counters result");
        Assert.True((string?)counters.Attribute("type") == "result", counters.ToString());
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        Assert.Equal(4294967295u, H(await alice.NextAsync(e => Is(e, "a"), "<a/>")));

        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "p1", "ping result");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        Assert.Equal(0u, H(await alice.NextAsync(e => Is(e, "a"), "<a/> after the wrap")));

        // Outbound: counters result is h=0, the ping result h=1. Acking 1 is fine, 2 is too many.
        await alice.SendAsync($"<a xmlns='{Sm3}' h='1'/>");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        await alice.NextAsync(e => Is(e, "a"), "<a/> after a wrapped ack");
        Assert.False(alice.ClosedByServer);
        await alice.SendAsync($"<a xmlns='{Sm3}' h='2'/>");
        Assert.True(await alice.WaitClosedAsync());
        Assert.Contains("undefined-condition", alice.Transcript);
    }

    [Fact]
    public async Task MaxUnackedStanzas_RequestsAckOnlyBeyondTheThreshold()
    {
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string> { ["smacks_max_unacked_stanzas"] = "3" });
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        for (int i = 1; i <= 3; i++)
        {
            await alice.SendAsync($"<iq type='get' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>");
            await alice.NextAsync(e => (string?)e.Attribute("id") == $"p{i}", "ping result " + i);
        }
        Assert.Null(await alice.TryNextAsync(e => Is(e, "r"), TimeSpan.FromMilliseconds(500)));

        await alice.SendAsync("<iq type='get' id='p4'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => Is(e, "r"), "<r/> after the 4th unacked stanza");
        Assert.Equal(4, alice.HandledSinceEnable);
    }

    [Fact]
    public async Task MaxUnackedStanzas_DefaultZero_RequestsAfterFirstStanza_OneAtATime()
    {
        await using var server = await SmacksServer.StartAsync(output);
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => Is(e, "r"), "<r/>");
        await alice.SendAsync("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "p2", "second result");
        // One <r/> in flight at a time: no second request until the first is answered.
        Assert.Null(await alice.TryNextAsync(e => Is(e, "r"), TimeSpan.FromMilliseconds(500)));
        await alice.SendAsync($"<a xmlns='{Sm3}' h='1'/>");
        await alice.NextAsync(e => Is(e, "r"), "<r/> for the rest after the ack");
    }

    [Fact]
    public async Task MaxInactiveUnackedStanzas_AppliesWhileCsiInactive()
    {
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string>
        {
            ["smacks_max_unacked_stanzas"] = "0",
            ["smacks_max_inactive_unacked_stanzas"] = "2",
        }, extraModules: "csi");
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();
        await alice.SendAsync("<inactive xmlns='urn:xmpp:csi:0'/>");

        for (int i = 1; i <= 2; i++)
        {
            await alice.SendAsync($"<iq type='get' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>");
            await alice.NextAsync(e => (string?)e.Attribute("id") == $"p{i}", "ping result " + i);
        }
        Assert.Null(await alice.TryNextAsync(e => Is(e, "r"), TimeSpan.FromMilliseconds(500)));
        await alice.SendAsync("<iq type='get' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => Is(e, "r"), "<r/> beyond the inactive threshold");

        // Becoming active forces an ack request at once (after answering the outstanding one).
        await alice.SendAsync($"<a xmlns='{Sm3}' h='3'/>");
        await alice.SendAsync("<active xmlns='urn:xmpp:csi:0'/>");
        await alice.NextAsync(e => Is(e, "r"), "<r/> on becoming active");
    }

    [Fact]
    public async Task MaxAckDelay_FiresAckDelayedEvent_WhenRStaysUnanswered()
    {
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string> { ["smacks_max_ack_delay"] = "1" });
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.NextAsync(e => Is(e, "r"), "<r/>");

        var events = await SmacksServer.WaitForEventAsync(server, "smacks-ack-delayed");
        Assert.Single(events);
        Assert.Contains("origin=alice@localhost/r1", events[0]);
        Assert.Contains("queue=1", events[0]);
    }

    [Fact]
    public async Task Counting_IncludesStanzasLuaModulesSend_SuchAsMamResults()
    {
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string> { ["smacks_max_unacked_stanzas"] = "1000" });
        await SmacksServer.RegisterAsync(server, "alice");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        await alice.EnableAsync();

        await alice.SendAsync("<iq type='set' id='b1'><burst xmlns='urn:test:smacks' n='7'/></iq>");
        await alice.NextAsync(e => (string?)e.Attribute("id") == "b1", "burst result");
        Assert.Equal(8, alice.HandledSinceEnable);
        Assert.Equal(7, alice.Elements.Count(e => e.Element(XName.Get("result", "urn:xmpp:mam:2")) is not null));

        // The server agrees: 8 is accepted, 9 is more than it sent.
        await alice.SendAsync($"<a xmlns='{Sm3}' h='8'/>");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        Assert.Equal(1u, H(await alice.NextAsync(e => Is(e, "a"), "<a/>")));
        await alice.SendAsync($"<a xmlns='{Sm3}' h='9'/>");
        Assert.True(await alice.WaitClosedAsync());
        Assert.Contains("undefined-condition", alice.Transcript);
    }

    [Fact]
    public async Task Counting_IncludesRealMamQueryResults()
    {
        await using var server = await SmacksServer.StartAsync(output, new Dictionary<string, string> { ["smacks_max_unacked_stanzas"] = "1000" }, extraModules: "mam");
        await SmacksServer.RegisterAsync(server, "alice", "bob");
        await using var bob = await SmacksServer.LoginAsync(server, "bob");
        await using var alice = await SmacksServer.LoginAsync(server, "alice");
        for (int i = 1; i <= 3; i++)
        {
            await bob.SendAsync($"<message to='{alice.Jid}' type='chat' id='a{i}'><body>archived {i}</body></message>");
            await alice.NextAsync(e => (string?)e.Attribute("id") == $"a{i}", "message " + i);
        }
        await alice.EnableAsync();

        await alice.SendAsync("<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='f'/></iq>");
        var fin = await alice.NextAsync(e => (string?)e.Attribute("id") == "q1", "MAM query result");
        Assert.Equal("result", (string?)fin.Attribute("type"));
        int results = alice.Elements.Count(e => e.Element(XName.Get("result", "urn:xmpp:mam:2")) is not null);
        Assert.Equal(3, results);
        Assert.Equal(4, alice.HandledSinceEnable);

        await alice.SendAsync($"<a xmlns='{Sm3}' h='4'/>");
        await alice.SendAsync("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        await alice.SendAsync($"<r xmlns='{Sm3}'/>");
        Assert.Equal(2u, H(await alice.NextAsync(e => Is(e, "a"), "<a/>")));
        await alice.SendAsync($"<a xmlns='{Sm3}' h='6'/>");
        Assert.True(await alice.WaitClosedAsync());
        Assert.Contains("undefined-condition", alice.Transcript);
    }
}
