using System.Net;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// XMPP over BOSH (XEP-0124/XEP-0206) against the real server, with a raw-HTTP client (no
/// installed client library speaks BOSH, see <see cref="BoshClient"/>): session creation, SASL,
/// restart, bind, chat with a TCP client, XEP-0198 resume after bosh_max_inactivity, rid rules
/// and the error conditions, each without harm to other clients.
/// </summary>
public sealed class BoshTests(BoshTests.Server fixture) : IClassFixture<BoshTests.Server>
{
    public sealed class Server : SharedServer
    {
        public int HttpPort { get; } = FreePorts.Take(1)[0];

        protected override void Configure(ServerConfig config)
        {
            config.Set("http_ports", $"{{ {HttpPort} }}");
            config.Set("https_ports", "{ }");
            config.Set("consider_bosh_secure", "true");
            config.Set("bosh_max_inactivity", "2");
            config.Set("bosh_max_wait", "30");
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks", "bosh"));
        }
    }

    private Uri Endpoint => new($"http://127.0.0.1:{fixture.HttpPort}/http-bind");

    [Fact]
    public async Task A_bosh_client_logs_in_binds_and_chats_with_a_tcp_client()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("boshuser");
        await fixture.Server.RegisterAsync(user, "bosh-secret");
        var (bosh, features) = await BoshClient.StartAsync(Endpoint, "localhost", wait: 20);
        await using var _ = bosh;
        // XEP-0124 §7.1 / XEP-0206 §4: the creation response's attributes.
        var created = bosh.Created;
        Assert.Equal("20", (string?)created.Attribute("wait"));
        Assert.Equal("2", (string?)created.Attribute("inactivity"));
        Assert.Equal("2", (string?)created.Attribute("requests"));
        Assert.Equal("1", (string?)created.Attribute("hold"));
        Assert.Equal("localhost", (string?)created.Attribute("from"));
        Assert.Equal("1.0", (string?)created.Attribute(XName.Get("version", "urn:xmpp:xbosh")));
        Assert.Contains(features.Descendants(), e => e.Name.LocalName == "mechanism" && e.Value == "PLAIN");
        Assert.DoesNotContain(features.Elements(), e => e.Name.LocalName == "starttls");

        var jid = await bosh.LoginAsync("localhost", user, "bosh-secret");
        Assert.Equal($"{user}@localhost/bosh", jid);

        await using var tcp = await fixture.LoginNewAsync("boshpeer");
        await bosh.SendAsync($"<message xmlns='jabber:client' to='{tcp.Jid}' type='chat' id='b1'><body>over http</body></message>");
        var got = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "b1", "the BOSH client's message");
        Assert.Equal(jid, (string?)got.Attribute("from"));

        // Several messages while the client holds a request: they arrive on it, in order.
        for (var i = 0; i < 5; i++)
            await tcp.SendAsync($"<message to='{jid}' type='chat' id='t{i}'><body>from tcp {i}</body></message>");
        for (var i = 0; i < 5; i++)
        {
            var back = await bosh.WaitForAsync(e => e.Name.LocalName == "message");
            Assert.Equal($"t{i}", (string?)back.Attribute("id"));
            Assert.Equal("jabber:client", back.Name.NamespaceName);
        }
        Assert.Null(bosh.Failure);
    }

    [Fact]
    public async Task Stream_management_resumes_on_a_new_bosh_session_after_the_old_one_went_inactive()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("boshsm");
        await fixture.Server.RegisterAsync(user, "bosh-secret");
        var (first, _) = await BoshClient.StartAsync(Endpoint, "localhost");
        var jid = await first.LoginAsync("localhost", user, "bosh-secret");
        await first.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var previd = (string?)(await first.WaitForAsync(e => e.Name.LocalName == "enabled")).Attribute("id");
        Assert.NotNull(previd);
        first.Abort(); // the page went away: no terminate, no more requests
        await first.DisposeAsync();
        // bosh_max_inactivity (2 s here) ends the stream as a dropped connection; smacks hibernates it.
        Assert.True(await fixture.LogContainsAsync($"BOSH session {first.Sid} ends: no request for", TimeSpan.FromSeconds(20)),
            "the inactive BOSH session was not ended");

        await using var tcp = await fixture.LoginNewAsync("boshsmpeer");
        for (var i = 0; i < 3; i++)
            await tcp.SendAsync($"<message to='{jid}' type='chat' id='q{i}'><body>while away {i}</body></message>");
        Assert.True(await tcp.PingAsync("localhost", "sent-all"));

        var (second, _) = await BoshClient.StartAsync(Endpoint, "localhost");
        await using var __ = second;
        await second.AuthenticateAsync(user, "bosh-secret");
        await second.RestartAsync("localhost");
        await second.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{previd}' h='0'/>");
        Assert.Equal("resumed", (await second.WaitForAsync(e => e.Name.LocalName is "resumed" or "failed")).Name.LocalName);
        for (var i = 0; i < 3; i++)
            await second.WaitForAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("id") == $"q{i}");
        // The resumed session is the same full JID, reachable as before.
        await tcp.SendAsync($"<message to='{jid}' type='chat' id='after'><body>welcome back</body></message>");
        await second.WaitForAsync(e => (string?)e.Attribute("id") == "after");
    }

    [Fact]
    public async Task Rids_are_checked_a_repeated_rid_gets_its_response_again_and_errors_use_bosh_conditions()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        const string ns = BoshClient.Ns;
        // Session creation by hand: rid 100, wait 2 so empty polls come back quickly.
        var created = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='100' to='localhost' wait='2' hold='1' ver='1.6'/>");
        var sid = (string)created.Attribute("sid")!;
        Assert.Contains(created.Elements(), e => e.Name.LocalName == "features");

        // Before authentication the one thing to send is SASL: a wrong password gets <failure/>.
        var wrong = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0nobody\0wrong"));
        var auth = $"<body xmlns='{ns}' rid='101' sid='{sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{wrong}</auth></body>";
        var first = await BoshClient.PostOnceAsync(http, Endpoint, auth);
        Assert.Contains(first.Elements(), e => e.Name.LocalName == "failure");
        // XEP-0124 §14.3: the same rid again gets the same answer, and its payload is not processed twice.
        var again = await BoshClient.PostOnceAsync(http, Endpoint, auth);
        Assert.Equal(first.ToString(), again.ToString());

        // A request that overtakes the one before it waits for it (§14.3): its payload is
        // processed after the missing one's, and the two requests carry the answer between them.
        var overtaking = BoshBody(http, $"<body xmlns='{ns}' rid='103' sid='{sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{wrong}</auth></body>");
        await Task.Delay(300); // let it arrive first (if it does not, the order is simply the usual one)
        var missing = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='102' sid='{sid}'/>");
        var answers = new[] { missing, await overtaking };
        var failures = answers.SelectMany(a => a.Elements()).Count(e => e.Name.LocalName == "failure");
        if (failures == 0) failures = (await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='104' sid='{sid}'/>")).Elements().Count(e => e.Name.LocalName == "failure");
        Assert.Equal(1, failures);

        // A rid far ahead of the window ends the session: item-not-found (§14.3, §17.4).
        var far = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='200' sid='{sid}'/>");
        AssertTerminate(far, "item-not-found");
        var gone = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='105' sid='{sid}'/>");
        AssertTerminate(gone, "item-not-found");

        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='5' sid='no-such-session'/>"), "item-not-found");
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='5' to='nowhere.example' wait='5'/>"), "improper-addressing");
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' to='localhost' wait='5'/>"), "bad-request");
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, "<notbody xmlns='jabber:client'/>"), "bad-request");
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, "<body xmlns='http://jabber.org/protocol/httpbind' rid='1'"), "bad-request");
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint,
            $"<!DOCTYPE body [<!ENTITY x 'y'>]><body xmlns='{ns}' rid='9' to='localhost' wait='5'>&x;</body>"), "bad-request");

        var get = await http.GetAsync(Endpoint);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Contains("BOSH", await get.Content.ReadAsStringAsync());
        await fixture.Bystanders.ExchangeOnceAsync();
        Assert.Empty(fixture.Bystanders.Problems);
    }

    [Fact]
    public async Task A_restart_that_overtakes_the_request_before_it_still_restarts_the_stream()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("boshrestart");
        await fixture.Server.RegisterAsync(user, "bosh-secret");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        const string ns = BoshClient.Ns;
        var created = await BoshBody(http, $"<body xmlns='{ns}' rid='20' to='localhost' wait='5' hold='1'/>");
        var sid = (string)created.Attribute("sid")!;
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{user}\0bosh-secret"));
        var auth = await BoshBody(http, $"<body xmlns='{ns}' rid='21' sid='{sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth></body>");
        Assert.Contains(auth.Elements(), e => e.Name.LocalName == "success");
        // The restart (rid 23) arrives before rid 22: it must still restart the stream once 22 is in.
        var restart = BoshBody(http, $"<body xmlns='{ns}' rid='23' sid='{sid}' xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true' to='localhost'/>");
        await Task.Delay(300);
        var before = await BoshBody(http, $"<body xmlns='{ns}' rid='22' sid='{sid}'/>");
        var answers = new[] { before, await restart };
        Assert.Contains(answers.SelectMany(a => a.Elements()), e => e.Name.LocalName == "features"
            && e.Elements().Any(f => f.Name.LocalName == "bind"));
    }

    [Fact]
    public async Task A_terminate_request_ends_the_session_and_its_sid()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        const string ns = BoshClient.Ns;
        var created = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='10' to='localhost' wait='5' hold='1'/>");
        var sid = (string)created.Attribute("sid")!;
        var end = await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='11' sid='{sid}' type='terminate'/>");
        Assert.Equal("terminate", (string?)end.Attribute("type"));
        Assert.Null(end.Attribute("condition"));
        AssertTerminate(await BoshClient.PostOnceAsync(http, Endpoint, $"<body xmlns='{ns}' rid='12' sid='{sid}'/>"), "item-not-found");
    }

    private Task<XElement> BoshBody(HttpClient http, string body) => BoshClient.PostOnceAsync(http, Endpoint, body);

    private static void AssertTerminate(XElement body, string condition)
    {
        Assert.Equal("terminate", (string?)body.Attribute("type"));
        Assert.Equal(condition, (string?)body.Attribute("condition"));
    }
}
