using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>XEP-0160 offline storage with XEP-0203 delayed-delivery stamps.</summary>
public sealed class OfflineMessageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OfflineMessage_IsDeliveredWithDelayStamp_OnNextLogin()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);

        var result = await PythonClient.RunAsync(server, "offline.py",
            "--jid1", server.Jid("alice"), "--password1", "pass-alice",
            "--jid2", server.Jid("bob"), "--password2", "pass-bob");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("while you were away", r.String("received.body"));
            Assert.StartsWith(server.Jid("alice"), r.String("received.from"));
            var stamp = DateTimeOffset.Parse(r.String("received.delay_stamp")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(stamp, before, DateTimeOffset.UtcNow.AddMinutes(1));
            Assert.Empty(r["sender_errors"].EnumerateArray());
        });
    }
}
