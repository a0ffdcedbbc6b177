using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's mod_muc with mod_muc_mam, unmodified, as the operator enables it
/// (<c>Component "conference.localhost" "muc"</c>), on LuaXmpp and on Prosody, with four slixmpp
/// clients (XEP-0045, XEP-0313).
/// </summary>
[Collection(ModernClientCollection.Name)]
public sealed class MucModuleTests(ModernClientServers servers)
{
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Room_Create_Join_Groupchat_History_Private_Disco_Mam_AndAbuse(string flavor)
    {
        var server = servers[flavor];
        var room = "tavern@" + ModernClientServers.MucService;
        var result = await PythonClient.RunAsync(server, "prosody_muc_room.py",
            "--jid1", server.Jid("alice"), "--password1", "pass-alice",
            "--jid2", server.Jid("bob"), "--password2", "pass-bob",
            "--jid3", server.Jid("carol"), "--password3", "pass-carol",
            "--jid4", server.Jid("mallory"), "--password4", "pass-mallory",
            "--service", ModernClientServers.MucService);
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Contains("http://jabber.org/protocol/muc", r.Strings("features"));
            Assert.Contains("urn:xmpp:mam:2", r.Strings("features"));
            Assert.Equal(["110", "201"], r.Strings("create_codes"));
            Assert.Equal("result", r.String("configured"));
            Assert.Equal(["110"], r.Strings("join_codes"));
            Assert.Equal([room + "/alice", room + "/alice"], r.Strings("groupchat_at"));
            Assert.Equal(room + "/alice", r.String("history.from"));
            Assert.True(r["history.delayed"].GetBoolean());
            Assert.Equal(room + "/bob", r.String("private_from"));
            Assert.Equal([room], r.Strings("rooms"));
            Assert.Equal("result", r.String("mam.type"));
            Assert.Equal(["hello room"], r.Strings("mam.bodies"));

            Assert.Equal("conflict", r.String("nick_conflict"));
            Assert.Equal("jid-malformed", r.String("long_nick"));
            Assert.Equal("jid-malformed", r.String("bad_room"));
            Assert.Equal(room + "/bob", r.String("after_abuse_from"));
        });
        // Both servers log the refused address (Prosody's stanza router words it so).
        Assert.True(await ServerLog.ContainsAsync(server, "Received stanza with invalid destination JID: bad\"room@"),
            server.Describe());
    }
}
