using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>Several resources of one account (RFC 6120 §7.7, RFC 6121 §8.5.2.1.1 and §8.5.3.1).</summary>
public sealed class ResourceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MessageToBareJid_ReachesTopPriorityResources_AndFullJidOnlyItsResource()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");

        var result = await PythonClient.RunAsync(server, "resources.py",
            "--jid1", server.Jid("alice"), "--password1", "pass-alice",
            "--jid2", server.Jid("bob"), "--password2", "pass-bob");

        var r1 = server.Jid("alice") + "/r1";
        var r2 = server.Jid("alice") + "/r2";
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal([r1, r2], r.Strings("resources"));
            Assert.Equal([r1, r2], r.Strings("bare_equal_priority"));
            Assert.Equal([r2], r.Strings("full_jid"));
            Assert.Equal([r1], r.Strings("bare_top_priority"));
        });
    }
}
