using System.Net;
using System.Net.Sockets;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// Two LuaXmpp servers federate on loopback (RFC 6120 server-to-server) with self-signed
/// certificates, so they authenticate each other with dialback (XEP-0220) after STARTTLS:
/// users exchange messages, subscriptions, presence, pings and disco across them; stanzas
/// for a domain that cannot be reached bounce within s2s_timeout; a peer that did not
/// authenticate a domain cannot send for it.
/// </summary>
public sealed class LuaXmppFederationTests(LuaXmppFederationTests.Pair pair) : IClassFixture<LuaXmppFederationTests.Pair>
{
    private const string A = "a.localhost";
    private const string B = "b.localhost";
    private const int S2sTimeoutSeconds = 6;
    private const int MaxUnauthenticatedPerIp = 8;

    // A Lua module on Prosody's s2s events: logs the session as Lua sees it, watches
    // route/remote before the core takes it, and adds a stream feature for incoming streams.
    private const string ProbeModule = """
        local function describe(s)
            return ("type=%s from=%s to=%s direction=%s secure=%s chain=%s"):format(tostring(s.type), tostring(s.from_host),
                tostring(s.to_host), tostring(s.direction), tostring(s.secure), tostring(s.cert_chain_status));
        end
        module:hook("s2sout-established", function (event) module:log("info", "probe s2sout-established %s", describe(event.session)); end);
        module:hook("s2sin-established", function (event) module:log("info", "probe s2sin-established %s", describe(event.session)); end);
        module:hook("route/remote", function (event)
            module:log("info", "probe route/remote %s->%s %s", event.from_host, event.to_host, event.stanza.name);
        end, 10);
        module:hook("s2s-stream-features", function (event)
            event.features:tag("probe", { xmlns = "urn:test:s2s-probe" }):up();
        end);
        """;

    public sealed class Pair : FederationFixture
    {
        // Nothing listens on ClosedPort; SilentListener accepts (the kernel completes the
        // handshake) and never says a word, so a stream to it can only time out.
        public int ClosedPort { get; } = FreePorts.Take(1)[0];

        public TcpListener SilentListener { get; } = new(IPAddress.Loopback, 0);

        protected override Task<FederatedServers> StartAsync()
        {
            SilentListener.Start();
            var records = new Dictionary<string, int>
            {
                ["closed.localhost"] = ClosedPort,
                ["silent.localhost"] = ((IPEndPoint)SilentListener.LocalEndpoint).Port,
            };
            return FederatedServers.StartAsync(
                [new FederationMember(A, ServerFlavor.LuaXmpp), new FederationMember(B, ServerFlavor.LuaXmpp)],
                useCa: false, records, (_, config) => config
                    .Set("s2s_timeout", S2sTimeoutSeconds.ToString())
                    .Set("network_settings", $"{{ max_unauthenticated_per_ip = {MaxUnauthenticatedPerIp} }}")
                    .Set("modules_enabled", ServerConfig.LuaList([.. FederatedServers.Modules, "s2s_probe", "admin_shell"])),
                plugins: new Dictionary<string, string> { ["s2s_probe"] = ProbeModule });
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            SilentListener.Stop();
        }
    }

    [Fact]
    public async Task Users_on_two_servers_chat_subscribe_see_presence_ping_and_disco_in_both_directions()
    {
        var result = await pair.Servers.RunAsync(A, B, "--steps", "chat,ping,disco,subscribe,presence");
        result.AssertOk().Check(r =>
        {
            Assert.Equal("result", r.String("a_pinged_b_server"));
            Assert.Equal("result", r.String("b_pinged_a_server"));
            Assert.Equal(B, r.String("a_disco_b_server.from"));
            Assert.Contains("urn:xmpp:ping", r["a_disco_b_server.features"].EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("both", r.String("a_roster_item.subscription"));
            Assert.Equal("both", r.String("b_roster_item.subscription"));
            Assert.StartsWith("user@b.localhost/", r.String("a_saw_presence_from"));
            Assert.StartsWith("user@a.localhost/", r.String("b_saw_presence_from"));
        });
        // Self-signed certificates verify nowhere: each direction was authenticated by dialback.
        var a = pair.Servers[A];
        Assert.True(await ServerLog.ContainsAsync(a, $"Outgoing s2s connection {A}->{B} complete (dialback)"), a.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"Incoming s2s connection {B}->{A} complete (dialback)"), a.Describe());
        // Lua modules saw Prosody's events with Prosody's session shape.
        Assert.True(await ServerLog.ContainsAsync(a, $"probe s2sout-established type=s2sout from={A} to={B} direction=outgoing secure=true chain=invalid"), a.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"probe s2sin-established type=s2sin from={B} to={A} direction=incoming secure=true chain=invalid"), a.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"probe route/remote {A}->{B} message"), a.Describe());

        // The operator sees both streams in the admin shell (Prosody's s2s:show).
        var show = await a.RunCliAsync("shell", $"s2s:show(\"{B}\")");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Matches($@"{A} -> {B}\s+authenticated by dialback secure", show.Stdout);
        Assert.Matches($@"{A} <- {B}\s+authenticated by dialback secure", show.Stdout);
        Assert.Matches(@"\d+ s2s connections shown", show.Stdout);
        Assert.DoesNotContain("(unknown)", show.Stdout);
    }

    [Fact]
    public async Task A_domain_nothing_listens_for_bounces_with_remote_server_not_found()
    {
        var result = await pair.Servers.RunAsync(A, B, "--steps", "bounce", "--unreachable", "closed.localhost");
        result.AssertOk().Check(r =>
        {
            Assert.Equal("remote-server-not-found", r.String("bounce_condition"));
            Assert.True(r["bounce_seconds"].GetDouble() < S2sTimeoutSeconds + 10, "bounced after " + r["bounce_seconds"]);
        });
    }

    [Fact]
    public async Task A_domain_that_never_answers_bounces_with_remote_server_timeout_after_s2s_timeout()
    {
        var result = await pair.Servers.RunAsync(A, B, "--steps", "bounce", "--unreachable", "silent.localhost", "--bounce-wait", "30");
        result.AssertOk().Check(r =>
        {
            Assert.Equal("remote-server-timeout", r.String("bounce_condition"));
            // Held for s2s_timeout (not bounced at once), and bounced then (generous slack for a loaded machine).
            var seconds = r["bounce_seconds"].GetDouble();
            Assert.InRange(seconds, S2sTimeoutSeconds - 1, S2sTimeoutSeconds + 15);
        });
    }

    [Fact]
    public async Task A_stanza_for_a_domain_the_stream_did_not_authenticate_is_refused_with_not_authorized()
    {
        var b = pair.Servers[B];
        var port = int.Parse(b.Config.Get("s2s_ports")!.Trim('{', '}', ' '));
        await using var raw = await RawXmppClient.ConnectAsync(port);
        await raw.SendAsync($"<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' " +
            $"xmlns:stream='http://etherx.jabber.org/streams' from='{A}' to='{B}' version='1.0'>");
        var features = await raw.ReadUntilAsync(t => t.Contains("</stream:features>"), "stream features");
        // STARTTLS is required first; a Lua module's s2s-stream-features addition is there too.
        Assert.Contains("urn:ietf:params:xml:ns:xmpp-tls", features);
        Assert.Contains("urn:test:s2s-probe", features);
        await raw.SendAsync($"<message from='mallory@{A}' to='user@{B}' type='chat'><body>forged</body></message>");
        await raw.ReadUntilAsync(t => t.Contains("</stream:stream>"), "the stream error");
        Assert.Contains("<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'", raw.Received.Replace('"', '\''));
        // The server carries on: the federation still works.
        (await pair.Servers.RunAsync(B, A, "--steps", "chat")).AssertOk();
    }

    [Fact]
    public async Task Unauthenticated_connections_to_the_s2s_port_are_capped_per_address_and_federation_goes_on()
    {
        var port = pair.Servers.S2sPort(B);
        var idle = new List<RawXmppClient>();
        try
        {
            for (int i = 0; i < MaxUnauthenticatedPerIp + 4; i++) idle.Add(await RawXmppClient.ConnectAsync(port));
            // Refused ones are told and closed at once; admitted ones stay open (until s2s_timeout).
            var closed = await Task.WhenAll(idle.Select(c => c.ReadToEndAsync(TimeSpan.FromSeconds(S2sTimeoutSeconds - 2))));
            var refused = idle.Where((c, i) => closed[i] && c.Received.Contains("policy-violation", StringComparison.Ordinal)).Count();
            Assert.InRange(refused, 1, 4);
            Assert.Contains(closed, c => !c);
            Assert.True(await ServerLog.ContainsAsync(pair.Servers[B], "Refusing connection from 127.0.0.1"), pair.Servers[B].Describe());
        }
        finally
        {
            foreach (var c in idle) await c.DisposeAsync();
        }
        // The idle streams gone, new s2s streams from the same address are admitted again.
        (await pair.Servers.RunAsync(A, B, "--steps", "chat")).AssertOk();
    }
}
