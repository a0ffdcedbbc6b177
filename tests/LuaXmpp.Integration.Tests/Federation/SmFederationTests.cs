using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// XEP-0198 on server-to-server streams (mod_smacks enabled, smacks_enabled_s2s by default,
/// smacks_s2s_resend = true): the stream from A to B runs through a relay that cuts it in the
/// middle of a burst of messages; what B had not acknowledged is sent again over a new
/// connection, so B's user receives every message.
/// </summary>
public sealed class SmFederationTests(SmFederationTests.Pair pair) : IClassFixture<SmFederationTests.Pair>
{
    private const string A = "a.localhost";
    private const string B = "b.localhost";

    public sealed class Pair : FederationFixture
    {
        public CuttableProxy Proxy { get; } = new();

        protected override async Task<FederatedServers> StartAsync()
        {
            var servers = await FederatedServers.StartAsync(
                [new FederationMember(A, ServerFlavor.LuaXmpp), new FederationMember(B, ServerFlavor.LuaXmpp)],
                useCa: false,
                configure: (_, config) => config
                    .Set("modules_enabled", ServerConfig.LuaList([.. FederatedServers.Modules, "smacks"]))
                    .Set("smacks_s2s_resend", "true"),
                recordPorts: new Dictionary<string, int> { [B] = Proxy.Port });
            Proxy.TargetPort = servers.S2sPort(B);
            Proxy.Start();
            return servers;
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            await Proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stream_cut_in_the_middle_of_a_burst_loses_no_message()
    {
        // Establish the route first (one chat each way), then cut once 30 KB more went to B:
        // in the middle of the 300 messages of the burst.
        (await pair.Servers.RunAsync(A, B, "--steps", "chat")).AssertOk();
        pair.Proxy.CutAfter(30_000);
        var result = await pair.Servers.RunAsync(A, B, "--steps", "burst", "--count", "300", "--resent-ok");
        result.AssertOk().Check(r => Assert.Equal(300, r["burst_received"].GetInt32()));
        Assert.Equal(1, pair.Proxy.Cuts);
        Assert.True(pair.Proxy.Connections >= 2, "the route was not opened again after the cut");
        var a = pair.Servers[A];
        Assert.True(await ServerLog.ContainsAsync(a, "were not acknowledged when the connection ended; sending them again"), a.Describe());
    }
}
