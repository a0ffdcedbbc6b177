using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>RFC 6121: roster and subscriptions (§2, §3), presence (§4), messages (§5).</summary>
public sealed class ContactTests(ITestOutputHelper output)
{
    private static async Task<ClientResult> RunAsync(ServerProcess server, string steps)
    {
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        return await PythonClient.RunAsync(server, "contacts.py",
            "--jid1", server.Jid("alice"), "--password1", "pass-alice",
            "--jid2", server.Jid("bob"), "--password2", "pass-bob", "--steps", steps);
    }

    [Fact]
    public async Task Roster_SubscriptionIsBoth_AfterMutualApproval()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var result = await RunAsync(server, "subscribe");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("none", r.String("roster_after_add.subscription"));
            Assert.Equal("Contact B", r.String("roster_after_add.name"));
            Assert.Equal("both", r.String("a_roster_item.subscription"));
            Assert.Equal("Contact B", r.String("a_roster_item.name"));
            Assert.Equal("both", r.String("b_roster_item.subscription"));
        });
    }

    [Fact]
    public async Task Presence_IsSeenByContact_AndUnavailableOnLeave()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var result = await RunAsync(server, "presence");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(r.String("b_jid"), r.String("a_saw_presence_from"));
            Assert.Equal(r.String("a_jid"), r.String("b_saw_presence_from"));
            Assert.Equal(r.String("b_jid"), r.String("a_saw_unavailable_from"));
        });
    }

    [Fact]
    public async Task Chat_IsDeliveredBothWays()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var result = await RunAsync(server, "chat");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("hello B <&> \u00e9\u6f22", r.String("b_received.body"));
            Assert.Equal(r.String("a_jid"), r.String("b_received.from"));
            Assert.Equal("chat", r.String("b_received.type"));
            Assert.Equal("hello A", r.String("a_received.body"));
            Assert.Equal(r.String("b_jid"), r.String("a_received.from"));
        });
    }
}
