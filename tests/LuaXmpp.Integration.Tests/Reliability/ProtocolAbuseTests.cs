using System.Xml.Linq;
using Dapper;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Protocol abuse that needs neither stream management nor MAM: stanzas before bind, broken
/// iq stanzas (RFC 6120 §8.2.3), messages to nobody (RFC 6121 §8.5.2.2.1), presence floods, and
/// hostile strings that reach SQLite (roster names and groups, registered usernames) — stored
/// exactly as sent or refused cleanly, never interpreted.
/// </summary>
public sealed class ProtocolAbuseTests(SharedServer shared, ITestOutputHelper output) : IClassFixture<SharedServer>
{
    private static readonly XNamespace Roster = "jabber:iq:roster";

    /// <summary>RFC 6120 §7.1: after SASL but before binding, a stanza closes the stream with not-authorized.</summary>
    [Fact]
    public async Task Stanza_BeforeBind_ClosesStreamWithNotAuthorized()
    {
        var user = shared.NextUser();
        await using var client = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await client.OpenStreamAsync("localhost");
        await client.StartTlsAsync("localhost");
        await client.OpenStreamAsync("localhost");
        await client.RegisterAsync(user, "secret");
        await client.AuthPlainAsync(user, "secret");
        await client.OpenStreamAsync("localhost");

        await client.SendAsync($"<message to='bystander-a@localhost' type='chat'><body>unbound</body></message>");
        var (closed, elements) = await client.ReadToEndAsync();
        await shared.Bystanders.ExchangeOnceAsync();

        shared.Server.Check(() =>
        {
            var error = Assert.Single(elements, e => e.Name == XName.Get("error", XmppSocketClient.StreamsNs));
            Assert.Equal("not-authorized", XmppSocketClient.ErrorCondition(error));
            Assert.True(closed && client.StreamClosed, "the stream was not closed");
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    public static TheoryData<string, string> BrokenIqs => new()
    {
        { "no id", "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>" },
        { "two children", "<iq type='get' id='X' to='localhost'><ping xmlns='urn:xmpp:ping'/><query xmlns='jabber:iq:version'/></iq>" },
        { "no child", "<iq type='set' id='X' to='localhost'/>" },
        { "unknown type", "<iq type='fetch' id='X' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>" },
        { "no type", "<iq id='X' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>" },
    };

    [Theory]
    [MemberData(nameof(BrokenIqs))]
    public async Task BrokenIq_GetsBadRequest_AndSessionSurvives(string what, string iq)
    {
        output.WriteLine("case: " + what);
        await using var client = await shared.LoginNewAsync();

        await client.SendAsync(iq);
        var reply = await client.WaitForAsync(e => e.Name.LocalName == "iq", "the error reply");
        bool alive = await client.PingAsync("localhost", "alive");

        shared.Server.Check(() =>
        {
            Assert.Equal("error", (string?)reply.Attribute("type"));
            Assert.Equal("bad-request", XmppSocketClient.ErrorCondition(reply));
            Assert.True(alive, "the session did not survive a broken iq");
        });
    }

    [Theory]
    [InlineData("message", "<message to='nobody-here@localhost' type='chat' id='n1'><body>hello?</body></message>")]
    [InlineData("iq", "<iq to='nobody-here@localhost' type='get' id='n1'><query xmlns='jabber:iq:version'/></iq>")]
    public async Task Stanza_ToNonExistentLocalUser_GetsServiceUnavailable(string kind, string stanza)
    {
        output.WriteLine("case: " + kind);
        await using var client = await shared.LoginNewAsync();

        await client.SendAsync(stanza);
        var reply = await client.WaitForAsync(e => (string?)e.Attribute("id") == "n1", "the bounce");

        shared.Server.Check(() =>
        {
            Assert.Equal("error", (string?)reply.Attribute("type"));
            Assert.Equal("service-unavailable", XmppSocketClient.ErrorCondition(reply));
        });
    }

    /// <summary>
    /// A burst of presence updates: each one is broadcast to the sender's other resource in order,
    /// none is lost, and the server keeps serving others meanwhile.
    /// </summary>
    [Fact]
    public async Task PresenceFlood_IsDeliveredInOrder_AndOthersKeepChatting()
    {
        const int Updates = 3_000;
        var user = shared.NextUser("flood");
        await using var watcher = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await watcher.LoginAsync("localhost", user, "secret", resource: "watcher", register: true);
        await using var flooder = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await flooder.LoginAsync("localhost", user, "secret", resource: "flooder");
        shared.Bystanders.Begin();

        var burst = string.Concat(Enumerable.Range(1, Updates).Select(i => $"<presence><status>{i}</status></presence>"));
        await flooder.SendAsync(burst);
        int last = 0, outOfOrder = 0, received = 0;
        while (last < Updates)
        {
            var presence = await watcher.WaitForAsync(
                e => e.Name.LocalName == "presence" && (string?)e.Attribute("from") == flooder.Jid && e.Element(XmppSocketClient.Client + "status") is not null,
                $"status update after {last}");
            int n = int.Parse(presence.Element(XmppSocketClient.Client + "status")!.Value);
            if (n != last + 1) outOfOrder++;
            last = n;
            received++;
        }

        bool alive = await flooder.PingAsync("localhost", "alive");
        await shared.Bystanders.StopAsync();

        output.WriteLine($"presence updates received: {received} of {Updates}");
        shared.Server.Check(() =>
        {
            Assert.Equal(Updates, received);
            Assert.Equal(0, outOfOrder);
            Assert.True(alive);
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    public static TheoryData<string, string[]> HostileRosterNames => new()
    {
        { "quotes' \" and -- ; DROP TABLE prosody; --", ["'group'", "\"g\"", "' OR 1=1 --"] },
        { "100% of_the _ wildcards %%", ["%", "_", "%_%"] },
        { "unicode: Ünïcødé 日本語 🎉 \u200B", ["Grüße", "🎉🎉", "نص"] },
        { "xml-ish <b>&amp;</b>", ["<group>", "&lt;"] },
    };

    /// <summary>Names and groups go to the "roster" store in SQLite and come back byte-for-byte,
    /// on a new session that reads them from storage.</summary>
    [Theory]
    [MemberData(nameof(HostileRosterNames))]
    public async Task RosterItem_WithHostileNameAndGroups_RoundTripsExactlyThroughSqlite(string name, string[] groups)
    {
        var user = shared.NextUser("roster");
        const string contact = "contact%_x@localhost";
        var item = new XElement(Roster + "item", new XAttribute("jid", contact), new XAttribute("name", name),
            groups.Select(g => new XElement(Roster + "group", g)));
        var set = new XElement(XmppSocketClient.Client + "iq", new XAttribute("type", "set"), new XAttribute("id", "set1"),
            new XElement(Roster + "query", item));
        await using (var first = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort))
        {
            await first.LoginAsync("localhost", user, "secret", register: true);
            await first.SendAsync(set.ToString(SaveOptions.DisableFormatting));
            var result = await first.WaitForAsync(e => (string?)e.Attribute("id") == "set1", "roster set result");
            Assert.Equal("result", (string?)result.Attribute("type"));
        }

        await using var second = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await second.LoginAsync("localhost", user, "secret", presence: false);
        await second.SendAsync("<iq type='get' id='get1'><query xmlns='jabber:iq:roster'/></iq>");
        var roster = await second.WaitForAsync(e => (string?)e.Attribute("id") == "get1", "roster");
        var got = roster.Descendants(Roster + "item").SingleOrDefault(i => (string?)i.Attribute("jid") == contact);

        shared.Server.Check(() =>
        {
            Assert.NotNull(got);
            Assert.Equal(name, (string?)got.Attribute("name"));
            Assert.Equal(groups.Order(StringComparer.Ordinal), got.Elements(Roster + "group").Select(g => g.Value).Order(StringComparer.Ordinal));
        });
    }

    /// <summary>
    /// Usernames that look like SQL or LIKE patterns: nodeprep refuses the ones with forbidden
    /// characters (quote, space) with not-acceptable; the others create exactly that account —
    /// one row set in SQLite under that exact name, and no other password opens it.
    /// </summary>
    [Theory]
    [InlineData("' OR 1=1 --", false)]
    [InlineData("\" OR \"\"=\"", false)]
    [InlineData("%", true)]
    [InlineData("_", true)]
    [InlineData("%_%", true)]
    [InlineData("x);delete-from-prosody;--", true)]
    public async Task Registration_WithSqlLookingUsername_CreatesExactlyThatAccountOrIsRefused(string username, bool valid)
    {
        await using var client = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
        await client.OpenStreamAsync("localhost");
        await client.StartTlsAsync("localhost");
        await client.OpenStreamAsync("localhost");

        var reply = await client.RegisterAsync(username, "pw-" + username.Length);
        var accounts = await AccountRowsAsync();
        string? loginWithWrongPassword = null;
        string? login = null;
        if (valid)
        {
            // Once is enough (a LIKE pattern would match every user): failures slow down the whole class's logins.
            if (username == "%") loginWithWrongPassword = (await client.AuthPlainAsync(username, "wrong")).Name.LocalName;
            login = (await client.AuthPlainAsync(username, "pw-" + username.Length)).Name.LocalName;
        }

        output.WriteLine($"reply: {reply}\naccount users in SQLite: {string.Join(" | ", accounts)}");
        shared.Server.Check(() =>
        {
            if (valid)
            {
                Assert.Equal("result", (string?)reply.Attribute("type"));
                Assert.Contains(username, accounts);
                Assert.True(loginWithWrongPassword is null or "failure", "a wrong password opened the account");
                Assert.Equal("success", login);
            }
            else
            {
                Assert.Equal("error", (string?)reply.Attribute("type"));
                Assert.Equal("not-acceptable", XmppSocketClient.ErrorCondition(reply));
                Assert.DoesNotContain(username, accounts);
            }

            // Nothing was deleted or widened: the bystanders' accounts are still there.
            Assert.Contains("bystander-a", accounts);
        });
    }

    /// <summary>The users with an "accounts" entry, read straight from the SQLite file (WAL allows a reader).</summary>
    private async Task<List<string>> AccountRowsAsync()
    {
        SQLitePCL.Batteries_V2.Init();
        var file = Directory.GetFiles(shared.Server.DataPath, "*.sqlite").Single();
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        var users = await connection.QueryAsync<string>("""SELECT DISTINCT "user" FROM "prosody" WHERE "store"=@store""", new { store = "accounts" });
        return users.ToList();
    }
}
