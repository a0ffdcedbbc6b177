using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Mam;
using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// One MAM server for the abuse tests: accounts whose names contain SQL LIKE wildcards
/// (<c>%</c>, <c>_</c>) next to one they would match if a query used LIKE instead of equality.
/// </summary>
public sealed class MamAbuseServer : IAsyncLifetime
{
    public static readonly string[] Users = ["hostile", "pax", "p%x", "p_x", "victim", "victimfriend"];

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await MamServers.StartAsync(null!, MamModule.LuaXmpp, c => c.Set("max_archive_query_results", "20"), Users);
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");
        foreach (var peer in new[] { "pax", "p%x", "p_x", "victim" })
        {
            await hostile.SendMessagesAsync(Server.Jid(peer), [$"hostile-to-{peer}"]);
        }
        await using var victim = await MamClient.LoginAsync(Server, "victim");
        await victim.SendMessagesAsync(Server.Jid("victimfriend"), ["secret-1", "secret-2"]);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// XEP-0313 queries with hostile values: another account's archive, SQL wildcards and quotes in
/// <c>with</c>, ids and RSM values, nonsense page sizes and dates. Each must get exactly the
/// caller's own matching items or the proper stanza error, and the session must stay usable.
/// </summary>
public sealed class MamAbuseTests(MamAbuseServer fixture, ITestOutputHelper output) : IClassFixture<MamAbuseServer>
{
    private ServerProcess Server => fixture.Server;

    private static string[] Bodies(IEnumerable<System.Xml.Linq.XElement> results) => results.Select(Body).ToArray();

    [Fact]
    public async Task ForeignArchive_IsForbidden_AndWithFilterNeverReachesIntoIt()
    {
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");

        var bare = await hostile.QueryAsync(to: Server.Jid("victim"));
        var full = await hostile.QueryAsync(to: Server.Jid("victim") + "/phone");
        var host = await hostile.QueryAsync(to: Server.Host);
        // "with" the victim's friend: the victim's conversation with them must not leak.
        var withFriend = await hostile.QueryAsync(Form(("with", Server.Jid("victimfriend"))));
        var withVictim = await hostile.QueryAsync(Form(("with", Server.Jid("victim"))));

        output.WriteLine($"{ErrorCondition(bare.Answer)} {ErrorCondition(full.Answer)} {ErrorCondition(host.Answer)}");
        Assert.Equal("forbidden", ErrorCondition(bare.Answer));
        // RFC 6121 §8.5.3.1: an iq to an unavailable full JID; the domain itself keeps no archive.
        Assert.Equal("service-unavailable", ErrorCondition(full.Answer));
        Assert.Equal("service-unavailable", ErrorCondition(host.Answer));
        Assert.All(new[] { bare, full, host, withFriend }, q => Assert.Empty(q.Results));
        Assert.Equal(["hostile-to-victim"], Bodies(withVictim.Results));
        Assert.DoesNotContain(new[] { bare, full, host, withFriend, withVictim }.SelectMany(q => Bodies(q.Results)), b => b.StartsWith("secret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("p%x", "hostile-to-p%x")]
    [InlineData("p_x", "hostile-to-p_x")]
    [InlineData("pax", "hostile-to-pax")]
    [InlineData("p%", null)]
    [InlineData("%", null)]
    [InlineData("_ax", null)]
    public async Task With_ContainingLikeWildcards_MatchesOnlyThatExactJid(string node, string? expected)
    {
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");

        var page = await hostile.QueryAsync(Form(("with", node + "@" + Server.Host)));

        Assert.Equal("result", (string?)page.Answer.Attribute("type"));
        Assert.Equal(expected is null ? [] : [expected], Bodies(page.Results));
        Assert.Equal("true", (string?)Fin(page.Answer).Attribute("complete"));
    }

    [Theory]
    [InlineData("with", "pax@localhost' OR '1'='1", "bad-request")]
    [InlineData("with", "\" OR \"\"=\"", "bad-request")]
    [InlineData("start", "2000-01-01T00:00:00Z' OR 1=1 --", "bad-request")]
    [InlineData("end", "%", "bad-request")]
    [InlineData("after-id", "' OR 1=1 --", "item-not-found")]
    [InlineData("before-id", "%", "item-not-found")]
    [InlineData("after-id", "_", "item-not-found")]
    public async Task FormValue_WithQuotesOrWildcards_GetsTheProperError(string field, string value, string condition)
    {
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");

        var page = await hostile.QueryAsync(Form((field, System.Security.SecurityElement.Escape(value))));

        output.WriteLine(page.Answer.ToString());
        Assert.Equal(condition, ErrorCondition(page.Answer));
        Assert.Empty(page.Results);
        Assert.Equal(4, (await hostile.QueryAsync()).Results.Count); // the session still works
    }

    [Theory]
    [InlineData("%")]
    [InlineData("' OR 1=1 --")]
    [InlineData("*")]
    public async Task Ids_WithQuotesOrWildcards_MatchNothing(string id)
    {
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");
        var all = await hostile.QueryAsync();

        var byIds = await hostile.QueryAsync(Form(("ids", System.Security.SecurityElement.Escape(id))));
        var rsmAfter = await hostile.QueryAsync(Set($"<after>{System.Security.SecurityElement.Escape(id)}</after>"));

        Assert.Equal(4, all.Results.Count);
        Assert.Empty(byIds.Results);
        Assert.Equal("item-not-found", ErrorCondition(rsmAfter.Answer));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("99999999999999999999999")]
    [InlineData("1e308")]
    [InlineData("1.5")]
    [InlineData("0x2")]
    [InlineData("")]
    public async Task Max_WithNonsenseValue_NeverReturnsMoreThanTheCap_OrFractions(string max)
    {
        await using var hostile = await MamClient.LoginAsync(Server, "hostile");

        var page = await hostile.QueryAsync(Set($"<max>{max}</max>"));

        output.WriteLine($"max={max}: {page.Answer.Attribute("type")} {page.Results.Count} results {page.Answer}");
        if ((string?)page.Answer.Attribute("type") == "result")
        {
            Assert.InRange(page.Results.Count, 0, 4);
            Assert.Equal(page.Results.Count, page.Results.Select(ResultId).Distinct().Count());
        }
        else
        {
            Assert.Equal("bad-request", ErrorCondition(page.Answer));
        }
        Assert.Equal(4, (await hostile.QueryAsync()).Results.Count);
    }
}
