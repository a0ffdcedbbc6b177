using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// LuaXmpp federates with the real Prosody 0.12.3 (its own process, config and data, found
/// through the same static resolver records): self-signed certificates, so STARTTLS and then
/// dialback in both directions; message, subscription, presence, ping and disco each way, and
/// a burst of messages arrives complete and in order.
/// </summary>
public sealed class ProsodyFederationTests(ProsodyFederationTests.Pair pair) : IClassFixture<ProsodyFederationTests.Pair>
{
    private const string A = "a.localhost";
    private const string P = "p.localhost";

    public sealed class Pair : FederationFixture
    {
        protected override Task<FederatedServers> StartAsync() => FederatedServers.StartAsync(
            [new FederationMember(A, ServerFlavor.LuaXmpp), new FederationMember(P, ServerFlavor.Prosody)], useCa: false);
    }

    [Fact]
    public async Task LuaXmpp_and_Prosody_users_chat_subscribe_see_presence_ping_and_disco_in_both_directions()
    {
        var result = await pair.Servers.RunAsync(A, P, "--steps", "chat,ping,disco,burst,subscribe,presence", "--count", "200");
        result.AssertOk().Check(r =>
        {
            Assert.Equal("result", r.String("a_pinged_b_server"));
            Assert.Equal("result", r.String("b_pinged_a_server"));
            Assert.Equal(P, r.String("a_disco_b_server.from"));
            Assert.Equal(A, r.String("b_disco_a_server.from"));
            Assert.Equal(200, r["burst_received"].GetInt32());
            Assert.Equal("both", r.String("a_roster_item.subscription"));
            Assert.Equal("both", r.String("b_roster_item.subscription"));
            Assert.StartsWith($"user@{P}/", r.String("a_saw_presence_from"));
            Assert.StartsWith($"user@{A}/", r.String("b_saw_presence_from"));
        });
        var luaxmpp = pair.Servers[A];
        Assert.True(await ServerLog.ContainsAsync(luaxmpp, $"Outgoing s2s connection {A}->{P} complete (dialback)"), luaxmpp.Describe());
        Assert.True(await ServerLog.ContainsAsync(luaxmpp, $"Incoming s2s connection {P}->{A} complete (dialback)"), luaxmpp.Describe());
    }

    [Fact]
    public async Task A_Prosody_user_starts_the_conversation()
    {
        var result = await pair.Servers.RunAsync(P, A, "--steps", "chat,ping");
        result.AssertOk();
    }
}
