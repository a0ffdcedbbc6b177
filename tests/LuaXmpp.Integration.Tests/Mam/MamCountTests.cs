using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Mam;

/// <summary>
/// One server, four hosts: our mod_mam and Prosody 0.12's own (copied unmodified, loaded as
/// mod_prosody_mam), each over SQL storage (SQLite, or PostgreSQL in that run) and over
/// internal (flat file) storage. Accounts are made by in-band registration, cheaper than the CLI.
/// </summary>
public sealed class MamCountServer : IAsyncLifetime
{
    public const string OursSql = "localhost";
    public const string OursFlat = "flat.localhost";
    public const string ProsodySql = "psql.localhost";
    public const string ProsodyFlat = "pflat.localhost";

    public static readonly string[] Users = ["owner", "alpha", "beta"];

    private string _plugins = null!;

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-mam-count-").FullName;
        var copy = Directory.CreateDirectory(Path.Combine(_plugins, "mod_prosody_mam")).FullName;
        foreach (var file in Directory.GetFiles("/usr/lib/prosody/modules/mod_mam", "*.lua"))
        {
            var name = Path.GetFileName(file) == "mod_mam.lua" ? "mod_prosody_mam.lua" : Path.GetFileName(file);
            File.Copy(file, Path.Combine(copy, name));
        }

        const string Base = "\"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"ping\"; \"register\"; \"offline\"";
        Server = await ServerProcess.CreateAsync(null, c =>
        {
            c.Set("plugin_paths", ServerConfig.LuaList(_plugins));
            // The case our count was missing in: an archive that never expires.
            c.Set("archive_expires_after", ServerConfig.Lua("never"));
            // A host's modules_enabled adds to the global list (as in Prosody): the MAM module is per host.
            c.Set("modules_enabled", $"{{ {Base} }}");
            c.ExtraSections.Add("modules_enabled = { \"mam\" }"); // goes on the first host, OursSql
            c.ExtraSections.Add($"VirtualHost \"{OursFlat}\"\nstorage = \"internal\"\nmodules_enabled = {{ \"mam\" }}");
            // Prosody 0.12's mod_mam leaves the count out of an archive that never expires unless
            // mam_include_total is set (its "Archive expiry disabled" branch), so its hosts keep
            // the default expiry, with which it counts every query.
            const string ProsodyMam = "modules_enabled = { \"prosody_mam\" }\narchive_expires_after = \"1w\"";
            c.ExtraSections.Add($"VirtualHost \"{ProsodySql}\"\n{ProsodyMam}");
            c.ExtraSections.Add($"VirtualHost \"{ProsodyFlat}\"\nstorage = \"internal\"\n{ProsodyMam}");
        });
        try
        {
            await Server.StartAsync();
            foreach (var host in new[] { OursSql, OursFlat, ProsodySql, ProsodyFlat })
            {
                foreach (var user in Users) await RegisterInBandAsync(host, user);
            }
        }
        catch
        {
            await Server.DisposeAsync();
            throw;
        }
    }

    /// <summary>XEP-0077 §3.1 over a fresh STARTTLS stream.</summary>
    private async Task RegisterInBandAsync(string host, string user)
    {
        await using var client = await XmppSocketClient.ConnectAsync(Server.C2sPort);
        await client.OpenStreamAsync(host);
        await client.StartTlsAsync(host);
        await client.OpenStreamAsync(host);
        var reply = await client.RegisterAsync(user, MamServers.Password);
        if ((string?)reply.Attribute("type") != "result")
        {
            throw new Xunit.Sdk.XunitException($"registration of {user}@{host} failed: {reply}");
        }
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Directory.Delete(_plugins, recursive: true);
    }
}

/// <summary>
/// XEP-0313 §4.3 / XEP-0059 §2.6: every &lt;fin/&gt;'s &lt;set/&gt; carries &lt;count/&gt;, the
/// number of archived items matching the query's filters (with, start, end) whatever page
/// (max, before, after) is asked for; ours and Prosody's mod_mam give the same numbers, over
/// SQL and flat-file storage, and the count follows new messages.
/// </summary>
public sealed class MamCountTests(MamCountServer fixture, ITestOutputHelper output) : IClassFixture<MamCountServer>
{
    private const string Past = "2000-01-01T00:00:00Z";
    private const string Future = "2100-01-01T00:00:00Z";

    private ServerProcess Server => fixture.Server;

    private static string? Count((List<XElement> Results, XElement Answer) q) =>
        (string?)Fin(q.Answer).Element(Rsm + "set")?.Element(Rsm + "count");

    private static string? Last((List<XElement> Results, XElement Answer) q) =>
        (string?)Fin(q.Answer).Element(Rsm + "set")?.Element(Rsm + "last");

    private static string? First((List<XElement> Results, XElement Answer) q) =>
        (string?)Fin(q.Answer).Element(Rsm + "set")?.Element(Rsm + "first");

    [Theory]
    [InlineData(MamCountServer.OursSql)]
    [InlineData(MamCountServer.OursFlat)]
    [InlineData(MamCountServer.ProsodySql)]
    [InlineData(MamCountServer.ProsodyFlat)]
    public async Task Fin_CarriesTheCountOfMatchingItems_WithFiltersAndPaging(string host)
    {
        await using var c = await MamClient.LoginAsync(Server, "owner", host);
        string alpha = $"alpha@{host}", beta = $"beta@{host}";
        await c.SendMessagesAsync(alpha, Enumerable.Range(1, 5).Select(i => $"to-alpha-{i}"));
        await c.SendMessagesAsync(beta, Enumerable.Range(1, 3).Select(i => $"to-beta-{i}"));

        var first = await c.QueryAsync(Set("<max>3</max>"));
        var second = await c.QueryAsync(Set($"<max>3</max><after>{Last(first)}</after>"));
        var lastPage = await c.QueryAsync(Set("<max>2</max><before/>"));
        var beforeLast = await c.QueryAsync(Set($"<max>2</max><before>{First(lastPage)}</before>"));
        var countOnly = await c.QueryAsync(Set("<max>0</max>"));
        var withAlpha = await c.QueryAsync(Form(("with", alpha)) + Set("<max>2</max>"));
        var withAlphaNext = await c.QueryAsync(Form(("with", alpha)) + Set($"<max>2</max><after>{Last(withAlpha)}</after>"));
        var betaInRange = await c.QueryAsync(Form(("with", beta), ("start", Past), ("end", Future)));
        var fromFuture = await c.QueryAsync(Form(("start", Future)));
        var untilPast = await c.QueryAsync(Form(("end", Past)));

        output.WriteLine($"{host}: counts " + string.Join(" ", new[] { first, second, lastPage, beforeLast, countOnly, withAlpha,
            withAlphaNext, betaInRange, fromFuture, untilPast }.Select(q => Count(q) ?? "none")));
        Server.Check(() =>
        {
            Assert.Equal(["to-alpha-1", "to-alpha-2", "to-alpha-3"], first.Results.Select(Body));
            Assert.Equal(["to-alpha-4", "to-alpha-5", "to-beta-1"], second.Results.Select(Body));
            Assert.Equal(["to-beta-2", "to-beta-3"], lastPage.Results.Select(Body));
            Assert.Equal(["to-alpha-5", "to-beta-1"], beforeLast.Results.Select(Body));
            Assert.All(new[] { first, second, lastPage, beforeLast, countOnly }, q => Assert.Equal("8", Count(q)));
            Assert.Empty(countOnly.Results);
            Assert.Equal(["to-alpha-3", "to-alpha-4"], withAlphaNext.Results.Select(Body));
            Assert.All(new[] { withAlpha, withAlphaNext }, q => Assert.Equal("5", Count(q)));
            Assert.Equal(3, betaInRange.Results.Count);
            Assert.Equal("3", Count(betaInRange));
            Assert.All(new[] { fromFuture, untilPast }, q => Assert.Empty(q.Results));
            Assert.All(new[] { fromFuture, untilPast }, q => Assert.Equal("0", Count(q)));
        });

        // New messages count at once in the totals of the filters they match (ours keeps them per filter).
        await c.SendMessagesAsync(alpha, ["to-alpha-6", "to-alpha-7"]);
        var allAfter = await c.QueryAsync(Set("<max>3</max>"));
        var alphaAfter = await c.QueryAsync(Form(("with", alpha)) + Set("<max>0</max>"));
        var betaAfter = await c.QueryAsync(Form(("with", beta), ("start", Past), ("end", Future)) + Set("<max>1</max>"));
        Server.Check(() =>
        {
            Assert.Equal("10", Count(allAfter));
            Assert.Equal("7", Count(alphaAfter));
            Assert.Equal("3", Count(betaAfter));
        });
        output.WriteLine($"{host}: counts 8/5/3/0 then 10/7/3");
    }
}
