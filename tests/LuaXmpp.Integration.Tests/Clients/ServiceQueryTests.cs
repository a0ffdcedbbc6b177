using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>What the server says about itself: XEP-0030, XEP-0199, XEP-0092, XEP-0202 and
/// the post-authentication stream features.</summary>
public sealed class ServiceQueryTests(ITestOutputHelper output)
{
    private static async Task<ClientResult> QueryAsync(ServerProcess server)
    {
        await server.RegisterAsync("alice", "pass-alice");
        return await PythonClient.RunAsync(server, "services.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice");
    }

    [Fact]
    public async Task DiscoInfo_ListsServerImIdentity_AndEnabledFeatures()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await QueryAsync(server);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Contains(r["identities"].EnumerateArray(),
                i => i.GetProperty("category").GetString() == "server" && i.GetProperty("type").GetString() == "im");
            var features = r.Strings("features");
            Assert.Contains("http://jabber.org/protocol/disco#info", features);
            Assert.Contains("urn:xmpp:ping", features);
            Assert.Contains("jabber:iq:version", features);
            Assert.Contains("urn:xmpp:time", features);
            Assert.Contains("jabber:iq:register", features);
            Assert.Contains("jabber:iq:last", features);
            Assert.Contains("msgoffline", features);
            Assert.Equal(features.Length, features.Distinct().Count());
        });
    }

    [Fact]
    public async Task StreamFeatures_OfferRosterVersioningAndBind_AfterAuthentication()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await QueryAsync(server);

        result.Check(r =>
        {
            var afterAuth = r["stream_features"].EnumerateArray().Last().EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Contains("{urn:xmpp:features:rosterver}ver", afterAuth);
            Assert.Contains("{urn:ietf:params:xml:ns:xmpp-bind}bind", afterAuth);
            Assert.DoesNotContain("{urn:ietf:params:xml:ns:xmpp-sasl}mechanisms", afterAuth);
        });
    }

    [Fact]
    public async Task PingVersionAndTime_AreAnsweredByServer()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await QueryAsync(server);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("ping.type"));
            Assert.Equal(server.Host, r.String("ping.from"));
            Assert.False(string.IsNullOrEmpty(r.String("version.name")));
            Assert.False(string.IsNullOrEmpty(r.String("version.version")));
            var utc = DateTimeOffset.Parse(r.String("time.utc")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(utc, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
            Assert.Matches(@"^[+-]\d\d:\d\d$", r.String("time.tzo"));
        });
    }
}
