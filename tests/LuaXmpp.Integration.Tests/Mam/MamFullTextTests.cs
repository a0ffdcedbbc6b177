using System.Security;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Mam;

/// <summary>One server per archive driver for the full-text tests; each test reads its own account's archive.</summary>
public abstract class MamFullTextServer : IAsyncLifetime
{
    public static readonly string[] Users = ["words", "paging", "window", "hostile", "form", "peer", "other"];

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>Where the archive goes (and the rest, if the driver serves it).</summary>
    protected abstract Task StorageAsync(ServerConfig config);

    public virtual async Task InitializeAsync()
    {
        var server = await ServerProcess.CreateAsync(null);
        try
        {
            server.Config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam"));
            server.Config.Set("max_archive_query_results", "10");
            await StorageAsync(server.Config);
            await server.WriteConfigAsync();
            foreach (var user in Users) await server.RegisterAsync(user, MamServers.Password);
            await server.StartAsync();
            Server = server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}

public sealed class MamFullTextSqlServer : MamFullTextServer
{
    protected override Task StorageAsync(ServerConfig config)
    {
        config.Set("storage", ServerConfig.Lua("sql"));
        return Task.CompletedTask;
    }
}

/// <summary>Accounts in SQLite, the archive in memory.</summary>
public sealed class MamFullTextMemoryServer : MamFullTextServer
{
    protected override Task StorageAsync(ServerConfig config)
    {
        config.Set("default_storage", ServerConfig.Lua("sql")).Set("storage", "{ archive = \"memory\" }");
        return Task.CompletedTask;
    }
}

/// <summary>Everything in a real PostgreSQL 15 (sql.driver = "PostgreSQL").</summary>
public sealed class MamFullTextPostgresServer : MamFullTextServer
{
    private PostgresServer? _postgres;

    protected override async Task StorageAsync(ServerConfig config)
    {
        _postgres = await PostgresServer.StartAsync();
        await _postgres.CreateDatabaseAsync("mamfulltext");
        config.Set("storage", ServerConfig.Lua("sql")).Set("sql", _postgres.SqlOption("mamfulltext"));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_postgres is not null) await _postgres.DisposeAsync();
    }
}

/// <summary>
/// XEP-0431 full-text search through mod_mam on the real server, on the wire: words, prefixes and
/// phrases, RSM paging and counts, with/start/end, the form, and text that is no valid search.
/// </summary>
public abstract class MamFullTextTests(MamFullTextServer fixture, ITestOutputHelper output)
{
    public const string Field = "{urn:xmpp:fulltext:0}fulltext";

    private static readonly string[] Seed =
    [
        "The quick brown fox", "a LAZY dog sleeps", "quickly, the fox ran", "brown is not a fox colour",
        "Café crème at noon", "nothing here", "the brown fox again", "quick brown fox once more",
    ];

    private ServerProcess Server => fixture.Server;

    private static string Search(string text, params (string Var, string Value)[] more) =>
        Form([(Field, SecurityElement.Escape(text)), .. more]);

    private static string[] Bodies(IEnumerable<XElement> results) => results.Select(Body).ToArray();

    private static string? Count(XElement answer) => (string?)Fin(answer).Element(Rsm + "set")?.Element(Rsm + "count");

    private static string? ErrorText(XElement iq) => (string?)iq.Element(Client + "error")?.Element(Stanzas + "text");

    private async Task<MamClient> SeededAsync(string user)
    {
        var client = await MamClient.LoginAsync(Server, user);
        output.WriteLine(client.Jid);
        await client.SendMessagesAsync(Server.Jid("peer"), Seed);
        return client;
    }

    [Fact]
    public async Task Word_Prefix_Phrase_ReturnTheirMessages()
    {
        await using var c = await SeededAsync("words");

        var word = await c.QueryAsync(Search("QUICK"));
        var prefix = await c.QueryAsync(Search("quic*"));
        var phrase = await c.QueryAsync(Search("\"brown fox\""));
        var all = await c.QueryAsync(Search("fox colour brown"));
        var accents = await c.QueryAsync(Search("cafe CREME"));
        var partial = await c.QueryAsync(Search("quic"));

        Assert.Equal(["The quick brown fox", "quick brown fox once more"], Bodies(word.Results));
        Assert.Equal(["The quick brown fox", "quickly, the fox ran", "quick brown fox once more"], Bodies(prefix.Results));
        Assert.Equal(["The quick brown fox", "the brown fox again", "quick brown fox once more"], Bodies(phrase.Results));
        Assert.Equal(["brown is not a fox colour"], Bodies(all.Results));
        Assert.Equal(["Café crème at noon"], Bodies(accents.Results));
        Assert.Empty(partial.Results);
        Assert.Equal("true", (string?)Fin(word.Answer).Attribute("complete"));
        Assert.Equal("2", Count(word.Answer));
    }

    [Fact]
    public async Task Search_PagesWithRsm_ForwardsAndBackwards_WithCounts()
    {
        await using var c = await SeededAsync("paging");
        var fox = Search("fox");

        var first = await c.QueryAsync(fox + Set("<max>2</max>"));
        var second = await c.QueryAsync(fox + Set($"<max>2</max><after>{ResultId(first.Results[^1])}</after>"));
        var third = await c.QueryAsync(fox + Set($"<max>2</max><after>{ResultId(second.Results[^1])}</after>"));
        var last = await c.QueryAsync(fox + Set("<max>2</max><before/>"));
        var beforeLast = await c.QueryAsync(fox + Set($"<max>2</max><before>{ResultId(last.Results[0])}</before>"));
        var countOnly = await c.QueryAsync(fox + Set("<max>0</max>"));

        Assert.Equal(["The quick brown fox", "quickly, the fox ran"], Bodies(first.Results));
        Assert.Equal(["brown is not a fox colour", "the brown fox again"], Bodies(second.Results));
        Assert.Equal(["quick brown fox once more"], Bodies(third.Results));
        Assert.Null(Fin(first.Answer).Attribute("complete"));
        Assert.Equal("true", (string?)Fin(third.Answer).Attribute("complete"));
        Assert.Equal(["the brown fox again", "quick brown fox once more"], Bodies(last.Results));
        Assert.Equal(["quickly, the fox ran", "brown is not a fox colour"], Bodies(beforeLast.Results));
        Assert.All(new[] { first, second, third, last, beforeLast, countOnly }, q => Assert.Equal("5", Count(q.Answer)));
        Assert.Empty(countOnly.Results);
    }

    [Fact]
    public async Task Search_CombinesWithWith_Start_End()
    {
        await using var c = await SeededAsync("window");
        // The archive keeps whole seconds: the second batch goes into a later second than the first.
        var boundary = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        await Task.Delay(boundary - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100));
        await c.SendMessagesAsync(Server.Jid("other"), ["a later fox for other", "a later dog for other"]);
        string stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");

        var withOther = await c.QueryAsync(Search("fox", ("with", Server.Jid("other"))));
        var withPeer = await c.QueryAsync(Search("dog", ("with", Server.Jid("peer"))));
        var fromBoundary = await c.QueryAsync(Search("fox", ("start", stamp(boundary))));
        var untilBoundary = await c.QueryAsync(Search("fox", ("end", stamp(boundary.AddSeconds(-1)))));
        var windowed = await c.QueryAsync(Search("dog", ("start", stamp(boundary)), ("end", stamp(boundary.AddHours(1))), ("with", Server.Jid("other"))));

        Assert.Equal(["a later fox for other"], Bodies(withOther.Results));
        Assert.Equal(["a LAZY dog sleeps"], Bodies(withPeer.Results));
        Assert.Equal(["a later fox for other"], Bodies(fromBoundary.Results));
        Assert.Equal("5", Count(untilBoundary.Answer));
        Assert.DoesNotContain("a later fox for other", Bodies(untilBoundary.Results));
        Assert.Equal(["a later dog for other"], Bodies(windowed.Results));
        Assert.Equal("1", Count(windowed.Answer));
    }

    [Fact]
    public async Task OperatorsQuotesAndLongText_AreWordsOrABadRequest_NeverAnError_AndTheServerGoesOn()
    {
        await using var c = await SeededAsync("hostile");

        var operators = await c.QueryAsync(Search("fox NEAR(quick, 1) OR -dog body:x {owner body}: ^y"));
        var unbalanced = await c.QueryAsync(Search("\"brown fox"));
        var injection = await c.QueryAsync(Search("fox'); DROP TABLE prosodyarchive; --"));
        var quotesOnly = await c.QueryAsync(Search("\" \" ** () - :"));
        var tenKb = await c.QueryAsync(Search(string.Concat(Enumerable.Repeat("fox ", 2560))));
        var oneLongWord = await c.QueryAsync(Search(new string('x', 10_240)));
        var stillFine = await c.QueryAsync(Search("\"brown fox\" quick*"));

        Assert.Equal("result", (string?)operators.Answer.Attribute("type"));
        Assert.Empty(operators.Results); // every word must match, and "near" is not in any body
        // An unbalanced quote is no phrase: two words, in any order.
        Assert.Equal(["The quick brown fox", "brown is not a fox colour", "the brown fox again", "quick brown fox once more"], Bodies(unbalanced.Results));
        Assert.Equal("result", (string?)injection.Answer.Attribute("type"));
        Assert.Empty(injection.Results);
        Assert.Equal("bad-request", ErrorCondition(quotesOnly.Answer));
        Assert.Equal("fulltext: no words to search for", ErrorText(quotesOnly.Answer));
        Assert.Equal("bad-request", ErrorCondition(tenKb.Answer));
        Assert.Equal("fulltext: too many words (at most 16)", ErrorText(tenKb.Answer));
        Assert.Equal("bad-request", ErrorCondition(oneLongWord.Answer));
        Assert.Equal(["The quick brown fox", "quick brown fox once more"], Bodies(stillFine.Results));
    }

    [Fact]
    public async Task AnotherUsersArchive_IsForbidden_WithASearchToo()
    {
        await using var c = await MamClient.LoginAsync(Server, "other");

        var foreign = await c.QueryAsync(Search("fox"), to: Server.Jid("words"));

        Assert.Equal("forbidden", ErrorCondition(foreign.Answer));
        Assert.Empty(foreign.Results);
    }

    [Fact]
    public async Task QueryForm_AdvertisesTheFullTextField()
    {
        await using var c = await MamClient.LoginAsync(Server, "form");

        var answer = (await c.IqAsync("<iq type='get' id='{id}'><query xmlns='urn:xmpp:mam:2'/></iq>"))[^1];
        var field = answer.Descendants(XName.Get("field", "jabber:x:data")).SingleOrDefault(f => (string?)f.Attribute("var") == Field);

        Assert.NotNull(field);
        Assert.Equal("text-single", (string?)field.Attribute("type"));
    }
}

public sealed class MamFullTextSqlTests(MamFullTextSqlServer fixture, ITestOutputHelper output)
    : MamFullTextTests(fixture, output), IClassFixture<MamFullTextSqlServer>;

public sealed class MamFullTextMemoryTests(MamFullTextMemoryServer fixture, ITestOutputHelper output)
    : MamFullTextTests(fixture, output), IClassFixture<MamFullTextMemoryServer>;

public sealed class MamFullTextPostgresTests(MamFullTextPostgresServer fixture, ITestOutputHelper output)
    : MamFullTextTests(fixture, output), IClassFixture<MamFullTextPostgresServer>;
