using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Mam;

/// <summary>Regression (found by the stanza fuzzer): a non-integer RSM &lt;max/&gt; broke the page loop in mod_mam.</summary>
public sealed class MamRsmMaxTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Query_FractionalMax_IsRoundedDown_NotAnError()
    {
        await using var server = await MamServers.StartAsync(output, MamModule.LuaXmpp, null, "frac", "peer");
        await using var client = await MamClient.LoginAsync(server, "frac");
        await client.SendMessagesAsync(server.Jid("peer"), ["one", "two", "three"]);

        var backwards = await client.QueryAsync(Set("<max>1.5</max><before/>"));
        var forwards = await client.QueryAsync(Set("<max>2.7</max>"));

        server.Check(() =>
        {
            Assert.Equal("result", (string?)backwards.Answer.Attribute("type"));
            Assert.Equal(["three"], backwards.Results.Select(Body));
            Assert.Equal(["one", "two"], forwards.Results.Select(Body));
            Assert.DoesNotContain("Error in archive callback", server.LogTail(100_000));
        });
    }
}
