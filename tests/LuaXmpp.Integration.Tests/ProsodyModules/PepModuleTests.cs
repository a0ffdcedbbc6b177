using LuaXmpp.Tests.Reliability;
using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's mod_pep and the modules built on it (mod_bookmarks, mod_vcard_legacy, mod_vcard4),
/// unmodified, on LuaXmpp and on Prosody with slixmpp clients.
/// </summary>
[Collection(ModernClientCollection.Name)]
public sealed class PepModuleTests(ModernClientServers servers)
{
    /// <summary>An OMEMO device list publish reaches a contact that asked for it with +notify in
    /// its entity capabilities (XEP-0163 §4, XEP-0384 §4.2), and the contact can fetch it.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task DevicelistPublish_NotifiesAContactWithPlusNotify(string flavor)
    {
        var server = servers[flavor];
        var result = await PythonClient.RunAsync(server, "prosody_pep.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("publish"));
            Assert.Equal(server.Jid("alice"), r.String("event.from"));
            Assert.Equal(["12345"], r.Strings("event.devices"));
            Assert.Equal("result", r.String("fetch.type"));
            Assert.Equal(["12345"], r.Strings("fetch.devices"));
        });
    }

    /// <summary>Bookmarks 2 (XEP-0402 §3) published, fetched, and seen through Private XML
    /// (XEP-0049/XEP-0048) as mod_bookmarks converts it; a vcard-temp with a photo (XEP-0054)
    /// comes back, is published as vCard 4 (XEP-0292) and avatar metadata (XEP-0398/XEP-0084),
    /// and another user reads the vCard 4. Bad node names and configurations get XEP-0060's
    /// errors and break nothing.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Bookmarks_Vcard_AndBadNodeInput(string flavor)
    {
        var server = servers[flavor];
        var result = await PythonClient.RunAsync(server, "prosody_pim.py",
            "--jid", server.Jid("carol"), "--password", "pass-carol",
            "--peer-jid", server.Jid("mallory"), "--peer-password", "pass-mallory",
            "--service", ModernClientServers.MucService);
        var room = "tavern@" + ModernClientServers.MucService;
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("bookmark_publish"));
            var bookmark = Assert.Single(r["bookmarks.items"].EnumerateArray());
            Assert.Equal(room, bookmark.GetProperty("id").GetString());
            Assert.Equal("The Tavern", bookmark.GetProperty("name").GetString());
            Assert.Equal("alice", bookmark.GetProperty("nick").GetString());
            var legacy = Assert.Single(r["private.conferences"].EnumerateArray());
            Assert.Equal(room, legacy.GetProperty("jid").GetString());
            Assert.Equal("true", legacy.GetProperty("autojoin").GetString());
            Assert.Equal("alice", legacy.GetProperty("nick").GetString());

            Assert.Equal("result", r.String("vcard_set"));
            Assert.Equal("Alice Liddell", r.String("vcard_get.fn"));
            Assert.Equal("image/png", r.String("vcard_get.photo_type"));
            Assert.True(r["vcard_get.photo_ok"].GetBoolean());
            Assert.Equal(["Alice Liddell"], r.Strings("vcard4_node.fn"));
            Assert.Equal([r.String("avatar_sha1")!], r.Strings("avatar_ids"));
            Assert.Equal(["Alice Liddell"], r.Strings("vcard4_iq.fn"));

            Assert.Equal("bad-request", r.String("bad_pubsub.publish_without_node"));
            Assert.Equal("bad-request", r.String("bad_pubsub.publish_two_payloads"));
            Assert.Equal("item-not-found", r.String("bad_pubsub.items_of_missing_node"));
            Assert.Equal("bad-request", r.String("bad_pubsub.config_max_items_word"));
            Assert.Equal("not-acceptable", r.String("bad_pubsub.config_access_model_unknown"));
            Assert.Equal("conflict", r.String("bad_pubsub.publish_options_conflict"));
            Assert.Equal("result", r.String("vcard4_after_abuse"));
        });
        // Each error sent is logged by the session (debug); Prosody has no such line to compare.
        if (flavor == "luaxmpp")
            Assert.True(await ServerLog.ContainsAsync(server, "Sending iq error modify/not-acceptable for id"), server.Describe());
    }
}
