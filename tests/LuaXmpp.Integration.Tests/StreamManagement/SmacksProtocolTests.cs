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
        await using var server = await SmacksServer.StartAsync(output);
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
}
