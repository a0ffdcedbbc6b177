using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>One server for the SASL2 tests: prosody-modules' mod_sasl2, mod_sasl2_bind2,
/// mod_sasl2_sm and mod_sasl2_fast copied unmodified from the Debian package, with our mod_smacks.</summary>
public sealed class Sasl2Server : IAsyncLifetime
{
    public const string Password = "correct horse";

    private readonly ProsodyPluginDirectory _plugins =
        ProsodyPluginDirectory.With("mod_sasl2", "mod_sasl2_bind2", "mod_sasl2_sm", "mod_sasl2_fast");

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var server = await ServerProcess.CreateAsync(null);
        try
        {
            server.Config.Set("plugin_paths", ServerConfig.LuaList(_plugins.Path));
            server.Config.Set("modules_enabled", ServerConfig.LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "smacks",
                "sasl2", "sasl2_bind2", "sasl2_sm", "sasl2_fast"));
            await server.WriteConfigAsync();
            foreach (var user in new[] { "alice", "bob", "carol" }) await server.RegisterAsync(user, Password);
            await server.StartAsync();
            Server = server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        _plugins.Dispose();
    }
}

/// <summary>
/// XEP-0388 SASL2 with XEP-0386 Bind 2, XEP-0198 inline and XEP-0484 FAST, from prosody-modules'
/// files, driven by a raw-socket client. Prosody 0.12.3 cannot run these files (mod_sasl2 calls
/// <c>conn:ssl_info()</c>, which its net.server lacks, so SASL2 is never offered there; the
/// modules follow Prosody trunk), so against Prosody the tests check exactly that.
/// </summary>
public sealed class Sasl2Tests(Sasl2Server fixture, ITestOutputHelper output) : IClassFixture<Sasl2Server>
{
    private static readonly XNamespace Sasl2 = Sasl2Client.Sasl2Ns;
    private static readonly XNamespace Bind2 = Sasl2Client.Bind2Ns;
    private static readonly XNamespace Fast = Sasl2Client.FastNs;
    private static readonly XNamespace Sm = Sasl2Client.SmNs;
    private static readonly XNamespace SaslErrors = RawXmppClient.SaslNs;

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Scram_BindsAndEnablesResumption_InOneExchange_ThenFastResumesInOneRoundTrip_AndOldTokensAreRejected()
    {
        if (Server.Flavor.IsProsody)
        {
            await AssertProsodyCannotRunSasl2Async();
            return;
        }
        var alice = Server.Jid("alice");
        await using var first = await Sasl2Client.ConnectAsync(Server, alice);
        Check(() =>
        {
            Assert.Contains("SCRAM-SHA-256", first.Mechanisms);
            Assert.NotNull(first.Inline?.Element(Bind2 + "bind"));
            Assert.NotNull(first.Inline?.Element(Sm + "sm"));
            Assert.Equal(["HT-SHA-256-NONE"], first.Inline?.Element(Fast + "fast")?.Elements(Fast + "mechanism").Select(m => m.Value).Distinct() ?? []);
        });

        // SCRAM, and in the same <authenticate/>: bind (tag "tests"), resumable stream management, a FAST token.
        var success = await first.ScramAsync("alice", Sasl2Server.Password,
            "<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>" +
            "<bind xmlns='urn:xmpp:bind:0'><tag>tests</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind>");
        Check(() => Assert.Equal(Sasl2 + "success", success.Name), success);
        var fullJid = success.Element(Sasl2 + "authorization-identifier")?.Value ?? "";
        var enabled = success.Element(Bind2 + "bound")?.Element(Sm + "enabled");
        var token1 = (string?)success.Element(Fast + "token")?.Attribute("token");
        Check(() =>
        {
            Assert.StartsWith(alice + "/tests~", fullJid);
            Assert.Equal("1", (string?)enabled?.Attribute("resume"));
            Assert.NotNull(token1);
            Assert.Equal(2, first.ElementsSent); // SCRAM itself takes two messages; bind and SM rode along
        }, success);
        // The features after <success/> come from Lua (mod_sasl2) and from the native modules (roster versioning).
        var after = await first.FeaturesAfterSuccessAsync();
        Check(() => Assert.NotNull(after.Element(XName.Get("ver", "urn:xmpp:features:rosterver"))), after);
        var pong = await first.PingAsync("p1"); // no stream restart: the stream is usable at once
        Check(() => Assert.Equal("result", (string?)pong.Attribute("type")), pong);

        // The connection drops; a message for the full JID waits in the hibernating session.
        await first.DisposeAsync();
        await using (var bob = await RawXmppClient.ConnectAsync(Server.C2sPort))
        {
            await bob.LoginAsync(Server.Host, "bob", Sasl2Server.Password);
            await bob.SendAsync($"<message to='{fullJid}' type='chat' id='m1'><body>while you were away</body></message>" +
                $"<iq type='get' id='after' to='{Server.Host}'><ping xmlns='urn:xmpp:ping'/></iq>");
            await bob.ReadUntilAsync(t => t.Contains("id='after'") || t.Contains("id=\"after\""), "bob's ping after the message");
        }

        // One element after TLS: FAST authentication, resumption (h=1: the ping result was seen) and a new token.
        await using var second = await Sasl2Client.ConnectAsync(Server, alice);
        var fastWithToken1 = Sasl2Client.FastResponse("alice", token1!);
        var resumed = await second.FastAsync(fastWithToken1,
            $"<resume xmlns='urn:xmpp:sm:3' previd='{(string?)enabled!.Attribute("id")}' h='1'/>" +
            "<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>");
        Check(() =>
        {
            Assert.Equal(Sasl2 + "success", resumed.Name);
            Assert.Equal(1, second.ElementsSent);
            Assert.Equal("1", (string?)resumed.Element(Sm + "resumed")?.Attribute("h"));
            Assert.Equal(fullJid, resumed.Element(Sasl2 + "authorization-identifier")?.Value);
        }, resumed);
        var token2 = (string?)resumed.Element(Fast + "token")?.Attribute("token");
        var queued = await second.WaitForAsync(e => e.Name.LocalName == "message", "the queued message, re-sent after <success/>");
        Check(() =>
        {
            Assert.NotNull(token2);
            Assert.NotEqual(token1, token2);
            Assert.Equal("while you were away", queued.Elements().FirstOrDefault(e => e.Name.LocalName == "body")?.Value);
        }, queued);

        // Using the newer token retires the older one: a replay of the first FAST exchange fails.
        await using (var third = await Sasl2Client.ConnectAsync(Server, alice))
        {
            var outcome = await third.FastAsync(Sasl2Client.FastResponse("alice", token2!), "<bind xmlns='urn:xmpp:bind:0'><tag>tests</tag></bind>");
            Check(() => Assert.NotNull(outcome.Element(Bind2 + "bound")), outcome);
        }
        await using (var replay = await Sasl2Client.ConnectAsync(Server, alice))
        {
            var outcome = await replay.FastAsync(fastWithToken1);
            Check(() => Assert.NotNull(outcome.Element(SaslErrors + "not-authorized")), outcome);
        }

        // A token the client invalidates (XEP-0484 §3.4, logout) works that once, then never again.
        await using (var logout = await Sasl2Client.ConnectAsync(Server, alice))
        {
            var outcome = await logout.FastAsync(Sasl2Client.FastResponse("alice", token2!), fast: "<fast xmlns='urn:xmpp:fast:0' invalidate='1'/>");
            Check(() => Assert.Equal(Sasl2 + "success", outcome.Name), outcome);
        }
        await using (var afterLogout = await Sasl2Client.ConnectAsync(Server, alice))
        {
            var outcome = await afterLogout.FastAsync(Sasl2Client.FastResponse("alice", token2!));
            Check(() => Assert.NotNull(outcome.Element(SaslErrors + "not-authorized")), outcome);
        }
    }

    /// <summary>The same path with a real client library: xmpp.js 0.14 (clients/js/sasl2_fast.mjs)
    /// logs in with SASL2, Bind 2, inline stream management and a FAST token request in one
    /// &lt;authenticate/&gt;, loses its connection, and comes back with one element (the FAST token and
    /// an inline &lt;resume/&gt;), getting the message queued while it was away.</summary>
    [Fact]
    public async Task Xmppjs_Sasl2Bind2SmAndFast_ThenFastResumeWithTheQueue()
    {
        if (Server.Flavor.IsProsody)
        {
            await AssertProsodyCannotRunSasl2Async();
            return;
        }
        await Server.RegisterAsync("dave", Sasl2Server.Password);
        await Server.RegisterAsync("erin", Sasl2Server.Password);
        var script = JsClients.DirectoryWith(Path.Combine("@xmpp", "client"));
        var run = await ChildProcess.RunAsync("node", ["sasl2_fast.mjs", "--service", $"xmpp://127.0.0.1:{Server.C2sPort}",
            "--domain", Server.Host, "--user", "dave", "--password", Sasl2Server.Password,
            "--peer-user", "erin", "--peer-password", Sasl2Server.Password], script, TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());

        Server.Check(() =>
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            using var json = System.Text.Json.JsonDocument.Parse(run.Stdout.Trim().Split('\n').Last());
            var r = json.RootElement;
            var logins = r.GetProperty("logins").EnumerateArray().ToArray();
            Assert.Equal(2, logins.Length);
            var (first, second) = (logins[0], logins[1]);
            Assert.Equal("SCRAM-SHA-1", first.GetProperty("mechanism").GetString());
            Assert.True(first.GetProperty("bind").GetBoolean() && first.GetProperty("sm_enable").GetBoolean() && first.GetProperty("request_token").GetBoolean());
            Assert.Equal("success", first.GetProperty("outcome").GetString());
            Assert.True(first.GetProperty("token").GetBoolean());
            Assert.True(r.GetProperty("sm_enabled").GetBoolean() && r.GetProperty("token_saved").GetBoolean());

            Assert.Equal("HT-SHA-256-NONE", second.GetProperty("mechanism").GetString());
            Assert.True(second.GetProperty("resume").GetBoolean());
            Assert.Equal(1, second.GetProperty("sent_until_success").GetInt32()); // one round trip after TLS
            Assert.Equal("success", second.GetProperty("outcome").GetString());
            Assert.True(second.GetProperty("resumed").GetBoolean());
            Assert.Equal(r.GetProperty("jid").GetString(), r.GetProperty("resumed_jid").GetString());
            Assert.Contains("while you were away", r.GetProperty("received").EnumerateArray().Select(m => m.GetString()));
        });
    }

    [Fact]
    public async Task BadInput_GetsSasl2Failures_IsLogged_AndOtherSessionsCarryOn()
    {
        if (Server.Flavor.IsProsody)
        {
            await AssertProsodyCannotRunSasl2Async();
            return;
        }
        await using var carol = await Sasl2Client.ConnectAsync(Server, Server.Jid("carol"));
        var success = await carol.ScramAsync("carol", Sasl2Server.Password, "<bind xmlns='urn:xmpp:bind:0'/>");
        Check(() => Assert.NotNull(success.Element(Bind2 + "bound")), success);

        await using (var unknown = await Sasl2Client.ConnectAsync(Server))
        {
            var outcome = await unknown.SendAndWaitAsync(Sasl2Client.Authenticate("X-NO-SUCH-MECHANISM", [1, 2, 3]),
                e => e.Name == Sasl2 + "failure", "failure");
            Check(() => Assert.NotNull(outcome.Element(SaslErrors + "invalid-mechanism")), outcome);
        }
        await using (var wrongPassword = await Sasl2Client.ConnectAsync(Server))
        {
            var outcome = await wrongPassword.ScramAsync("carol", "not the password");
            Check(() => Assert.NotNull(outcome.Element(SaslErrors + "not-authorized")), outcome);
        }
        await using (var bogus = await Sasl2Client.ConnectAsync(Server))
        {
            var outcome = await bogus.SendAndWaitAsync(
                $"<authenticate xmlns='{Sasl2Client.Sasl2Ns}' mechanism='SCRAM-SHA-256'><initial-response>!!not base64**</initial-response></authenticate>",
                e => e.Name == Sasl2 + "failure", "failure");
            // util.encodings' base64 skips what is not base64; the rest is no SCRAM message.
            Check(() => Assert.Contains(outcome.Elements().Select(c => c.Name.LocalName), c => c is "incorrect-encoding" or "malformed-request"), outcome);
        }
        await using (var noToken = await Sasl2Client.ConnectAsync(Server, Server.Jid("carol")))
        {
            var outcome = await noToken.FastAsync(Sasl2Client.FastResponse("carol", "secret-token:fast-never-issued"));
            Check(() => Assert.NotNull(outcome.Element(SaslErrors + "not-authorized")), outcome);
        }

        var pong = await carol.PingAsync("still-here");
        Check(() =>
        {
            Assert.Equal("result", (string?)pong.Attribute("type"));
            Assert.Contains("Failed authentication attempt (not-authorized) for user carol@" + Server.Host, Server.LogTail(100_000));
        }, pong);
    }

    /// <summary>
    /// Prosody 0.12.3 with these files: mod_sasl2's stream-features handler raises (its
    /// net.server has no conn:ssl_info), so after STARTTLS no features come at all.
    /// </summary>
    private async Task AssertProsodyCannotRunSasl2Async()
    {
        await using var raw = await RawXmppClient.ConnectAsync(Server.C2sPort);
        await raw.OpenStreamAsync(Server.Host);
        await raw.StartTlsAsync(Server.Host);
        await raw.SendAsync(RawXmppClient.StreamHeader(Server.Host));
        // The text read since the first header: the second features would be the second "<stream:features".
        var featuresCame = await raw.TryReadUntilAsync(t => t.Split("<stream:features").Length > 2, TimeSpan.FromSeconds(3));
        Server.Check(() =>
        {
            Assert.False(featuresCame, raw.Received);
            Assert.Contains("ssl_info", Server.LogTail(100_000));
        });
    }

    private void Check(Action assertions, XElement? context = null)
    {
        try
        {
            Server.Check(assertions);
        }
        catch
        {
            if (context is not null) output.WriteLine("answer: " + context);
            throw;
        }
    }
}
