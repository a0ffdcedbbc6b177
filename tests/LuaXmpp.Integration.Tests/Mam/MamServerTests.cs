using System.Diagnostics;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Mam;

/// <summary>MAM behaviour that needs its own server: expiry, the roster policy, restarts, smacks.</summary>
public sealed class MamServerTests(ITestOutputHelper output)
{
    private static string? Count(XElement answer) =>
        (string?)Fin(answer).Element(Rsm + "set")?.Element(Rsm + "count");

    [Fact]
    public async Task Expiry_WithShortIntervals_RemovesOldMessages()
    {
        await using var server = await MamServers.StartAsync(output, MamModule.LuaXmpp,
            c => c.Set("archive_expires_after", "2").Set("archive_cleanup_interval", "1"), "alice", "bob");
        await using var alice = await MamClient.LoginAsync(server, "alice");
        await alice.SendMessagesAsync(server.Jid("bob"), ["short-lived"]);
        var before = await alice.QueryAsync();

        // Sweeps run every second and remove what is older than two seconds.
        var clock = Stopwatch.StartNew();
        (List<XElement> Results, XElement Answer) after;
        do
        {
            await Task.Delay(500);
            after = await alice.QueryAsync();
        }
        while (after.Results.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(20));

        Assert.Equal(["short-lived"], before.Results.Select(Body));
        Assert.Empty(after.Results);
        Assert.Equal("0", Count(after.Answer));
    }

    [Fact]
    public async Task RosterPolicy_ArchivesOnlyContacts()
    {
        await using var server = await MamServers.StartAsync(output, MamModule.LuaXmpp,
            c => c.Set("default_archive_policy", ServerConfig.Lua("roster")), "alice", "bob", "carol");
        await using var alice = await MamClient.LoginAsync(server, "alice");
        // A roster item without any subscription still counts as a contact (as in Prosody).
        await alice.IqAsync($"<iq type='set' id='{{id}}'><query xmlns='jabber:iq:roster'><item jid='{server.Jid("bob")}'/></query></iq>");

        await alice.SendMessagesAsync(server.Jid("bob"), ["to-contact"]);
        await alice.SendMessagesAsync(server.Jid("carol"), ["to-stranger"]);
        var archive = await alice.QueryAsync();
        var prefs = (await alice.IqAsync("<iq type='get' id='{id}'><prefs xmlns='urn:xmpp:mam:2'/></iq>"))[^1];

        Assert.Equal(["to-contact"], archive.Results.Select(Body));
        Assert.Equal("roster", (string?)prefs.Element(MamNs + "prefs")!.Attribute("default"));
    }

    [Fact]
    public async Task Archive_SurvivesARestart()
    {
        await using var server = await MamServers.StartAsync(output, MamModule.LuaXmpp, null, "alice", "bob");
        List<string> ids;
        await using (var alice = await MamClient.LoginAsync(server, "alice"))
        {
            await alice.SendMessagesAsync(server.Jid("bob"), ["one", "two", "three"]);
            ids = (await alice.QueryAsync()).Results.Select(ResultId).ToList();
        }

        await server.StopAsync();
        await server.StartAsync();
        await using var again = await MamClient.LoginAsync(server, "alice");
        var after = await again.QueryAsync(Set("<max>2</max><before/>"));

        Assert.Equal(3, ids.Count);
        Assert.Equal(["two", "three"], after.Results.Select(Body));
        Assert.Equal(ids[1..], after.Results.Select(ResultId));
        Assert.Equal("3", Count(after.Answer));
    }

    [Fact]
    public async Task WithSmacks_ResultMessagesAreCountedAsStanzas()
    {
        await using var server = await MamServers.StartAsync(output, MamModule.LuaXmpp,
            c => c.Set("modules_enabled", ServerConfig.LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam", "smacks")), "alice", "bob");
        await using var alice = await MamClient.LoginAsync(server, "alice");
        await alice.SendMessagesAsync(server.Jid("bob"), ["a", "b", "c"]);
        await alice.SendAsync("<enable xmlns='urn:xmpp:sm:3'/>");
        var (results, answer) = await alice.QueryAsync();
        // 3 result messages + the fin iq = 4 stanzas since <enable/>; acking them all must be accepted,
        // and the server's <r/> answer after them must not make the stream fail.
        await alice.SendAsync("<a xmlns='urn:xmpp:sm:3' h='4'/>");
        var pong = await alice.IqAsync("<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");

        Assert.Equal(3, results.Count);
        Assert.Equal("result", (string?)answer.Attribute("type"));
        Assert.Equal("result", (string?)pong[^1].Attribute("type"));
    }
}
