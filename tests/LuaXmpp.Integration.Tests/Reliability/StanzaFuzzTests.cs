using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability.StanzaFuzz;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// The stanza fuzzer (issue 7) at CI size against the real server process: a fixed seed, so every
/// run sends the same inputs. Long runs: <c>dotnet run --project tools/Fuzz -c Release -- stanzas --inputs 1000000 --seed 20241121</c>,
/// or LUAXMPP_RELIABILITY_FULL=1 here. A finding prints its input in base64; replay one input with
/// <c>... -- stanzas --seed 20241121 --only INDEX</c>.
/// </summary>
public sealed class StanzaFuzzTests(ITestOutputHelper output)
{
    public const int Seed = 20241121;

    [Fact]
    public async Task StanzaFuzzer_FindsNothing_OverFixedSeedInputs()
    {
        // 3 000 keeps CI well under a minute on the shared 2-core machine (75-250 inputs/s there under load, each a
        // round trip through the server and often a reconnect); the long runs go to a million.
        int inputs = ReliabilitySize.Pick("STANZA_FUZZ_INPUTS", 3_000, 1_000_000);
        await using var server = await StartServerAsync(output);
        int? pid = ServerMemory.FindPid(server);
        var target = new StanzaFuzzTarget(server.C2sPort, server.Host, server.LogPath, () => server.ExitCode,
            () => pid is { } p ? ServerMemory.RssKib(p) : 0);
        await using var driver = new StanzaFuzzDriver(target, new StanzaFuzzOptions(Seed, 0, inputs) { MaxFindings = 5 });

        var report = await driver.RunAsync();

        output.WriteLine(report.ToString());
        server.Check(() =>
        {
            Assert.True(report.Findings.Count == 0, string.Join("\n\n", report.Findings) + "\n" + report);
            Assert.Equal(inputs, report.Inputs);
            // The mix must keep reaching the handlers, and the stream-error paths.
            Assert.True(report.Outcomes.GetValueOrDefault("handled") > inputs / 2, report.ToString());
            Assert.True(report.Outcomes.Keys.Count(k => k.StartsWith("stream-error:", StringComparison.Ordinal)) >= 3, report.ToString());
            Assert.True(report.Outcomes.Keys.Any(k => k.StartsWith("preauth-", StringComparison.Ordinal)), report.ToString());
            Assert.True(report.Replies.Keys.Count(k => k.StartsWith("iq-error:", StringComparison.Ordinal)) >= 5, report.ToString());
        });
    }

    /// <summary>A server with the fuzzer's module set (StanzaFuzzServerSetup), started like every other test server.</summary>
    private static async Task<ServerProcess> StartServerAsync(ITestOutputHelper output)
    {
        var server = await ServerProcess.CreateAsync(output);
        try
        {
            var plugins = Path.Combine(server.Directory, "plugins");
            StanzaFuzzServerSetup.WritePlugins(plugins);
            foreach (var (name, lua) in StanzaFuzzServerSetup.Options(plugins, server.LogPath, debugLog: false)) server.Config.Set(name, lua);
            await server.WriteConfigAsync();
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}
