using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using static LuaXmpp.Tests.Mam.MamClient;

namespace LuaXmpp.Tests.Mam;

/// <summary>One server for the protocol tests below; each test reads its own account's archive.</summary>
public sealed class MamProtocolServer : IAsyncLifetime
{
    public static readonly string[] Users = ["errors", "ids", "range", "flip", "cap", "last", "form", "spoof", "meta", "peer", "hook"];

    // Another module with a say in what is archived and a view of what was (Prosody's mod_mam
    // events): archives headlines that ask for it, and tells the archive's owner each new id.
    private const string Probe = """
        local st = require "util.stanza";
        local wanted = "archive-this-headline";
        module:hook("archive-should-store", function(event)
            if event.stanza:get_child_text("body") == wanted then event.reason = "probe"; return true; end
        end, 10);
        module:hook("archive-message-added", function(event)
            if event.stanza:get_child_text("body") ~= wanted then return; end
            module:send(st.message({ to = event.for_user .. "@" .. module.host, type = "headline" }):text_tag("body", "added " .. event.id));
        end);
        """;

    private string _plugins = null!;

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-mam-probe-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_plugins, "mod_mam_probe.lua"), Probe);
        Server = await MamServers.StartAsync(null!, MamModule.LuaXmpp, c =>
        {
            c.Set("max_archive_query_results", "10");
            c.Set("plugin_paths", ServerConfig.LuaList(_plugins));
            c.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam", "mam_probe"));
        }, Users);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_plugins, recursive: true);
    }
}

/// <summary>XEP-0313 on the wire (raw XML): errors, ids, before-id/after-id, flip-page, paging limits.</summary>
public sealed class MamProtocolTests(MamProtocolServer fixture, ITestOutputHelper output) : IClassFixture<MamProtocolServer>
{
    private ServerProcess Server => fixture.Server;

    private string Peer => Server.Jid("peer");

    private async Task<MamClient> SeededAsync(string user, int count)
    {
        var client = await MamClient.LoginAsync(Server, user);
        await client.SendMessagesAsync(Peer, Enumerable.Range(1, count).Select(i => $"{user}-{i}"));
        return client;
    }

    private static string[] Bodies(IEnumerable<XElement> results) => results.Select(Body).ToArray();

    [Fact]
    public async Task Errors_ForeignArchive_UnknownIds_BadForms()
    {
        await using var c = await SeededAsync("errors", 2);
        output.WriteLine(c.Jid);

        var foreign = await c.QueryAsync(to: Server.Jid("peer"));
        var unknownAfter = await c.QueryAsync(Set("<after>no-such-id</after>"));
        var unknownBefore = await c.QueryAsync(Set("<before>no-such-id</before>"));
        var unknownAfterId = await c.QueryAsync(Form(("after-id", "no-such-id")));
        var wrongType = await c.QueryAsync("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:1</value></field></x>");
        var badStamp = await c.QueryAsync(Form(("start", "yesterday")));
        var badJid = await c.QueryAsync(Form(("with", "@@")));

        Assert.Equal("forbidden", ErrorCondition(foreign.Answer));
        Assert.Equal("item-not-found", ErrorCondition(unknownAfter.Answer));
        Assert.Equal("item-not-found", ErrorCondition(unknownBefore.Answer));
        Assert.Equal("item-not-found", ErrorCondition(unknownAfterId.Answer));
        Assert.Equal("bad-request", ErrorCondition(wrongType.Answer));
        Assert.Equal("bad-request", ErrorCondition(badStamp.Answer));
        Assert.Equal("bad-request", ErrorCondition(badJid.Answer));
        Assert.All(new[] { foreign, unknownAfter, wrongType, badStamp }, q => Assert.Empty(q.Results));
    }

    [Fact]
    public async Task Ids_ReturnsExactlyThoseItems()
    {
        await using var c = await SeededAsync("ids", 5);
        var all = await c.QueryAsync();
        var ids = all.Results.Select(ResultId).ToArray();

        var some = await c.QueryAsync(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
            + $"<field var='ids'><value>{ids[3]}</value><value>{ids[1]}</value></field></x>");

        Assert.Equal(["ids-2", "ids-4"], Bodies(some.Results));
        Assert.Equal("true", (string?)Fin(some.Answer).Attribute("complete"));
    }

    [Fact]
    public async Task BeforeIdAndAfterId_BoundTheRange_WithoutReversing()
    {
        await using var c = await SeededAsync("range", 6);
        var ids = (await c.QueryAsync()).Results.Select(ResultId).ToArray();

        var between = await c.QueryAsync(Form(("after-id", ids[0]), ("before-id", ids[4])));
        var after = await c.QueryAsync(Form(("after-id", ids[3])));
        var rsmAfter = await c.QueryAsync(Set($"<max>2</max><after>{ids[1]}</after>"));

        Assert.Equal(["range-2", "range-3", "range-4"], Bodies(between.Results));
        Assert.Equal(["range-5", "range-6"], Bodies(after.Results));
        Assert.Equal(["range-3", "range-4"], Bodies(rsmAfter.Results));
        var set = Fin(rsmAfter.Answer).Element(Rsm + "set")!;
        Assert.Equal(ids[2], (string?)set.Element(Rsm + "first"));
        Assert.Equal(ids[3], (string?)set.Element(Rsm + "last"));
        Assert.Equal("6", (string?)set.Element(Rsm + "count"));
        Assert.Null(Fin(rsmAfter.Answer).Attribute("complete"));
    }

    [Fact]
    public async Task FlipPage_DeliversNewestFirst()
    {
        await using var c = await SeededAsync("flip", 4);

        var flipped = await c.QueryAsync("<flip-page/>");
        var lastPageFlipped = await c.QueryAsync(Set("<max>2</max><before/>") + "<flip-page/>");

        Assert.Equal(["flip-4", "flip-3", "flip-2", "flip-1"], Bodies(flipped.Results));
        Assert.Equal(["flip-4", "flip-3"], Bodies(lastPageFlipped.Results));
        var set = Fin(lastPageFlipped.Answer).Element(Rsm + "set")!;
        Assert.Equal(ResultId(lastPageFlipped.Results[1]), (string?)set.Element(Rsm + "first")); // first stays the oldest
    }

    [Fact]
    public async Task MaxAboveTheCap_IsCapped_AndThePageLinksOn()
    {
        await using var c = await SeededAsync("cap", 12);

        var page = await c.QueryAsync(Set("<max>100</max>"));
        var next = await c.QueryAsync(Set($"<max>100</max><after>{ResultId(page.Results[^1])}</after>"));

        Assert.Equal(10, page.Results.Count); // max_archive_query_results = 10 in this server
        Assert.Null(Fin(page.Answer).Attribute("complete"));
        Assert.Equal("12", (string?)Fin(page.Answer).Element(Rsm + "set")!.Element(Rsm + "count"));
        Assert.Equal(["cap-11", "cap-12"], Bodies(next.Results));
        Assert.Equal("true", (string?)Fin(next.Answer).Attribute("complete"));
    }

    [Fact]
    public async Task EmptyBefore_GivesTheLastPageInOrder_AndMaxZeroOnlyCounts()
    {
        await using var c = await SeededAsync("last", 5);

        var last = await c.QueryAsync(Set("<max>2</max><before/>"));
        var previous = await c.QueryAsync(Set($"<max>2</max><before>{ResultId(last.Results[0])}</before>"));
        var none = await c.QueryAsync(Set("<max>0</max>"));

        Assert.Equal(["last-4", "last-5"], Bodies(last.Results));
        Assert.Equal(["last-2", "last-3"], Bodies(previous.Results));
        Assert.Empty(none.Results);
        Assert.Equal("5", (string?)Fin(none.Answer).Element(Rsm + "set")!.Element(Rsm + "count"));
        var result = last.Results[0];
        Assert.Equal("qid", (string?)result.Element(MamNs + "result")!.Attribute("queryid"));
        Assert.NotNull(result.Descendants(XName.Get("delay", "urn:xmpp:delay")).Single().Attribute("stamp"));
    }

    [Fact]
    public async Task FormDiscovery_ListsTheExtendedFields()
    {
        await using var c = await MamClient.LoginAsync(Server, "form");

        var answer = (await c.IqAsync("<iq type='get' id='{id}'><query xmlns='urn:xmpp:mam:2'/></iq>"))[^1];
        var fields = answer.Descendants(XName.Get("field", "jabber:x:data")).Select(f => (string?)f.Attribute("var") ?? "").ToArray();

        Assert.Equal(["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids", "{urn:xmpp:fulltext:0}fulltext"], fields);
    }

    [Fact]
    public async Task StanzaIdsClaimingTheRecipient_AreStripped_AndOursIsAdded()
    {
        await using var recipient = await MamClient.LoginAsync(Server, "spoof");
        await recipient.SendAsync("<presence/>");
        await using var sender = await MamClient.LoginAsync(Server, "peer");

        await sender.SendAsync($"<message to='{recipient.Bare}' type='chat'><body>spoofed</body>"
            + $"<stanza-id xmlns='urn:xmpp:sid:0' by='{recipient.Bare}' id='forged'/>"
            + "<stanza-id xmlns='urn:xmpp:sid:0' by='other@example.org' id='theirs'/></message>");
        var got = await recipient.NextMessageAsync(m => m.Element(Client + "body")?.Value == "spoofed");
        var archived = await recipient.QueryAsync();

        var ours = got.Elements(Sid + "stanza-id").Where(e => (string?)e.Attribute("by") == recipient.Bare).ToList();
        Assert.Equal(ResultId(Assert.Single(archived.Results)), (string?)Assert.Single(ours).Attribute("id"));
        Assert.Contains(got.Elements(Sid + "stanza-id"), e => (string?)e.Attribute("id") == "theirs");
        // The archived copy has neither the forged id nor ours.
        Assert.DoesNotContain(archived.Results[0].Descendants(Sid + "stanza-id"), e => (string?)e.Attribute("by") == recipient.Bare);
    }

    // mod_mam decides in C# (ArchiveMessageHooks): a headline is not archived, but a Lua module
    // hooking "archive-should-store" still overrides that, "archive-message-added" still fires,
    // and the sender's own stanza-id is still removed before the message leaves.
    [Fact]
    public async Task OtherModules_DecideAndSeeArchiving_AndTheSendersIdIsStripped()
    {
        await using var sender = await MamClient.LoginAsync(Server, "hook");
        await sender.SendAsync("<presence/>");
        await using var recipient = await MamClient.LoginAsync(Server, "peer");
        await recipient.SendAsync("<presence/>");

        // The first archived message goes through the Lua module (it reads the preferences), the second is archived in C#.
        await sender.SendAsync($"<message to='{recipient.Bare}' type='headline'><body>plain headline</body></message>");
        await sender.SendAsync($"<message to='{recipient.Bare}' type='headline'><body>archive-this-headline</body></message>");
        await sender.SendAsync($"<message to='{recipient.Bare}' type='headline'><body>archive-this-headline</body></message>");
        static bool IsAdded(XElement m) => m.Element(Client + "body")?.Value.StartsWith("added ", StringComparison.Ordinal) == true;
        var added = new[] { await sender.NextMessageAsync(IsAdded), await sender.NextMessageAsync(IsAdded) };
        var got = await recipient.NextMessageAsync(m => m.Element(Client + "body")?.Value == "archive-this-headline");
        var archived = await sender.QueryAsync();

        Assert.Equal(2, archived.Results.Count);
        Assert.All(archived.Results, item => Assert.Equal("archive-this-headline", Body(item)));
        Assert.Equal(archived.Results.Select(item => "added " + ResultId(item)), added.Select(m => m.Element(Client + "body")!.Value));
        Assert.DoesNotContain(got.Elements(Sid + "stanza-id"), e => (string?)e.Attribute("by") == sender.Bare);
        Assert.Contains(got.Elements(Sid + "stanza-id"), e => (string?)e.Attribute("by") == recipient.Bare);
    }

    [Fact]
    public async Task Metadata_GivesTheFirstAndLastItems()
    {
        await using var c = await SeededAsync("meta", 3);
        var ids = (await c.QueryAsync()).Results.Select(ResultId).ToArray();

        var answer = (await c.IqAsync("<iq type='get' id='{id}'><metadata xmlns='urn:xmpp:mam:2'/></iq>"))[^1];
        var metadata = answer.Element(MamNs + "metadata")!;

        Assert.Equal(ids[0], (string?)metadata.Element(MamNs + "start")!.Attribute("id"));
        Assert.Equal(ids[2], (string?)metadata.Element(MamNs + "end")!.Attribute("id"));
        Assert.NotNull(metadata.Element(MamNs + "end")!.Attribute("timestamp"));
    }
}
