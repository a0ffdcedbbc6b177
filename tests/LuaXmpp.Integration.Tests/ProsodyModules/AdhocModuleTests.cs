using LuaXmpp.Tests.Reliability;
using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's mod_adhoc, mod_admin_adhoc, mod_invites, mod_invites_adhoc and
/// mod_invites_register, unmodified, on LuaXmpp and on Prosody with slixmpp clients
/// (XEP-0050, XEP-0133, XEP-0401, XEP-0379, XEP-0077).
/// </summary>
[Collection(ModernClientCollection.Name)]
public sealed class AdhocModuleTests(ModernClientServers servers)
{
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task AdminAndUserCommands_Invites_AndBadInput(string flavor)
    {
        var server = servers[flavor];
        var result = await PythonClient.RunAsync(server, "prosody_adhoc.py",
            "--admin-jid", server.Jid("admin"), "--admin-password", "pass-admin",
            "--jid", server.Jid("bob"), "--password", "pass-bob",
            "--new-jid", server.Jid("newbie"), "--invitee-jid", server.Jid("dave"),
            "--stranger-jid", server.Jid("eve"));
        result.Check(r =>
        {
            Assert.True(r.Ok);
            // Prosody 0.12 lists 21 here: 19 from mod_admin_adhoc and the two invite commands.
            Assert.Equal(21, r.Strings("admin_commands").Length);
            Assert.Contains("http://jabber.org/protocol/admin#add-user", r.Strings("admin_commands"));
            Assert.Equal("executing", r.String("add_user.first"));
            Assert.Equal(["FORM_TYPE", "accountjid", "password", "password-verify"], r.Strings("add_user.fields"));
            Assert.Equal("completed", r.String("add_user.status"));
            Assert.True(r["new_user_login"].GetBoolean());

            Assert.Equal(["urn:xmpp:invite#invite"], r.Strings("user_commands"));
            Assert.Equal("completed", r.String("invite.status"));
            Assert.StartsWith($"xmpp:{server.Jid("bob")}?roster;preauth=", r.String("invite.uri"));
            Assert.Equal("result", r.String("invitee.preauth"));
            Assert.Equal("ok", r.String("invitee.registration"));
            Assert.True(r["invitee.logged_in"].GetBoolean());
            Assert.Equal("both", r.String($"invitee.roster.{server.Jid("bob")}"));

            // Bad input: each gets its error and the server goes on.
            Assert.Equal("executing", r.String("abandoned_status"));
            Assert.Equal("completed", r.String("add_user_mismatch.status"));
            Assert.Equal(["error"], r.Strings("add_user_mismatch.notes"));
            Assert.Equal("forbidden", r.String("user_runs_admin_command"));
            Assert.Equal("service-unavailable", r.String("unknown_node"));
            foreach (var refused in new[] { "wrong_token", "no_invite", "token_reused" })
            {
                Assert.Equal("not-acceptable", r.String(refused + ".registration"));
                Assert.False(r[refused + ".logged_in"].GetBoolean());
            }
            Assert.Equal("forbidden", r.String("wrong_token.preauth"));
            Assert.Equal("forbidden", r.String("token_reused.preauth"));
        });
        // Each error sent is logged by the session (debug); Prosody has no such line to compare.
        if (flavor == "luaxmpp")
        {
            Assert.True(await ServerLog.ContainsAsync(server, "Sending iq error auth/forbidden for id"), server.Describe());
            Assert.True(await ServerLog.ContainsAsync(server, "Sending iq error cancel/service-unavailable for id"), server.Describe());
        }
    }
}
