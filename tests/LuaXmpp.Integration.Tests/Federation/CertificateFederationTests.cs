using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// With certificates from a CA every server trusts (ssl.cafile) and s2s_secure_auth = true,
/// servers authenticate each other with SASL EXTERNAL (XEP-0178) after STARTTLS, never with
/// dialback: LuaXmpp ↔ LuaXmpp (one of them reachable only over direct TLS, XEP-0368) and
/// LuaXmpp ↔ Prosody 0.12.3, both directions.
/// </summary>
public sealed class CertificateFederationTests(CertificateFederationTests.Trio trio) : IClassFixture<CertificateFederationTests.Trio>
{
    private const string A = "a.localhost";
    private const string C = "c.localhost";
    private const string P = "p.localhost";

    public sealed class Trio : FederationFixture
    {
        protected override Task<FederatedServers> StartAsync() => FederatedServers.StartAsync(
            [new FederationMember(A, ServerFlavor.LuaXmpp), new FederationMember(C, ServerFlavor.LuaXmpp), new FederationMember(P, ServerFlavor.Prosody)],
            useCa: true, configure: (_, config) => config.Set("s2s_secure_auth", "true"),
            // The Prosody member knows A only (one resolver record, see FederatedServers).
            peersOf: member => member.Flavor.IsProsody ? [A] : null,
            // C is reachable only over direct TLS (XEP-0368).
            directTls: [C]);
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
}
