using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// With certificates from a CA every server trusts (ssl.cafile) and s2s_secure_auth = true,
/// servers authenticate each other with SASL EXTERNAL (XEP-0178) after STARTTLS, never with
/// dialback: LuaXmpp ↔ LuaXmpp (one of them reachable only over direct TLS, XEP-0368) and
/// LuaXmpp ↔ Prosody 0.12.3, both directions; a server whose certificate does not verify is refused.
/// </summary>
public sealed class CertificateFederationTests(CertificateFederationTests.Trio trio) : IClassFixture<CertificateFederationTests.Trio>
{
    private const string A = "a.localhost";
    private const string C = "c.localhost";
    private const string P = "p.localhost";
    private const string D = "d.localhost";

    public sealed class Trio : FederationFixture
    {
        protected override Task<FederatedServers> StartAsync() => FederatedServers.StartAsync(
            [new FederationMember(A, ServerFlavor.LuaXmpp), new FederationMember(C, ServerFlavor.LuaXmpp), new FederationMember(P, ServerFlavor.Prosody),
             new FederationMember(D, ServerFlavor.LuaXmpp)],
            useCa: true, configure: (_, config) => config.Set("s2s_secure_auth", "true"),
            // The Prosody member knows A only (one resolver record, see FederatedServers).
            peersOf: member => member.Flavor.IsProsody || member.Domain == D ? [A] : null,
            // C is reachable only over direct TLS (XEP-0368).
            directTls: [C],
            // D's certificate is self-signed: only dialback could authenticate it, which secure auth forbids.
            selfSigned: [D]);
    }

    [Fact]
    public async Task Two_LuaXmpp_servers_authenticate_with_certificates_one_over_direct_tls()
    {
        (await trio.Servers.RunAsync(A, C, "--steps", "chat,ping,disco")).AssertOk();
        var a = trio.Servers[A];
        var c = trio.Servers[C];
        Assert.True(await ServerLog.ContainsAsync(c, $"Incoming s2s connection from 127.0.0.1 for {A} (direct TLS)"), c.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"Outgoing s2s connection {A}->{C} complete (EXTERNAL)"), a.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"Incoming s2s connection {C}->{A} complete (EXTERNAL)"), a.Describe());
    }

    [Fact]
    public async Task LuaXmpp_and_Prosody_authenticate_with_certificates()
    {
        (await trio.Servers.RunAsync(A, P, "--steps", "chat,ping,disco,subscribe,presence")).AssertOk();
        var a = trio.Servers[A];
        Assert.True(await ServerLog.ContainsAsync(a, $"Outgoing s2s connection {A}->{P} complete (EXTERNAL)"), a.Describe());
        Assert.True(await ServerLog.ContainsAsync(a, $"Incoming s2s connection {P}->{A} complete (EXTERNAL)"), a.Describe());
    }

    [Fact]
    public async Task With_s2s_secure_auth_a_server_whose_certificate_does_not_verify_is_refused()
    {
        // D's user writes to A: A refuses D's dialback (secure auth), so the message bounces at D.
        var result = await trio.Servers.RunAsync(D, A, "--steps", "bounce", "--unreachable", A);
        result.AssertOk().Check(r => Assert.Equal("remote-server-not-found", r.String("bounce_condition")));
        var a = trio.Servers[A];
        Assert.True(await ServerLog.ContainsAsync(a, $"Refusing dialback from {D}"), a.Describe());
        // A itself carries on with its verified peers.
        (await trio.Servers.RunAsync(A, C, "--steps", "ping")).AssertOk();
    }
}
