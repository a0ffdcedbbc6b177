using LuaXmpp.Bench.LoadGen;
using LuaXmpp.Bench.LoadGen.Scenarios;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Bench;

/// <summary>
/// The load generator (bench/LoadGen) against a real server: it must be able to create accounts
/// and log clients in over STARTTLS, or every benchmark figure it prints is meaningless.
/// Counts only; no timing is asserted.
/// </summary>
public sealed class LoadGeneratorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LoadGenerator_RegistersAndLogsInFiveClients_AllBoundWithoutErrors()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var options = new Options(["--port", server.C2sPort.ToString(), "--starttls", "--prefix", "smoke",
            "--users", "5", "--clients", "5", "--idle", "0", "--timeout", "60"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var register = await RegisterScenario.RunAsync(options, server.Flavor.Name, timeout.Token);
        var login = await LoginScenario.RunAsync(options, server.Flavor.Name, timeout.Token);

        server.Check(() =>
        {
            Assert.Equal(5, register["created"]);
            Assert.Equal(0, register["errors"]);
            Assert.Equal(5, login["bound"]);
            Assert.Equal(0, login["errors"]);
        });
    }
}
