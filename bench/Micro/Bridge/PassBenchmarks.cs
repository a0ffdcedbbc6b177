using BenchmarkDotNet.Attributes;
using LuaXmpp.Bench.Micro;

namespace LuaXmpp.Bench.Bridge;

/// <summary>
/// The whole pass of a headline message (not archived) from one bound session to another's full
/// JID through the router (pre-message/full, message/full, delivery), in process, with the module
/// sets of issue 11: mod_message alone; + our mod_mam (Lua); + carbons and blocklist as Prosody's
/// files (the deployment set of bench/compare before native ones) or as our native modules.
/// Each operation clones the message (~0.3 µs) because the router stamps it.
/// </summary>
[MemoryDiagnoser]
public class PassBenchmarks
{
    [Params("message", "mam", "mam+prosody-carbons-blocklist", "mam+native-carbons-blocklist")]
    public string Modules { get; set; } = "message";

    private PassHarness _harness = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _harness = PassHarness.Create("luaxmpp-pass-");
        var set = new List<string> { "message" };
        if (Modules.StartsWith("mam", StringComparison.Ordinal))
        {
            PassHarness.CopyDirectory(Path.Combine(PassHarness.RepositoryRoot(), "modules", "mod_mam"), Path.Combine(_harness.Plugins, "mod_mam"));
            set.Add("mam");
        }
        if (Modules.Contains("carbons", StringComparison.Ordinal)) set.AddRange(["carbons", "blocklist"]);
        if (Modules.Contains("prosody", StringComparison.Ordinal))
        {
            foreach (var file in new[] { "mod_carbons.lua", "mod_blocklist.lua" })
                File.Copy(Path.Combine("/usr/lib/prosody/modules", file), Path.Combine(_harness.Plugins, file));
        }
        await _harness.StartAsync(new Dictionary<string, object?> { ["storage"] = "memory" }, set, "headline");
        // LUAXMPP_BENCH_GC=generational|incremental: the Lua collector's mode for this run (an experiment knob).
        if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_GC") is { Length: > 0 } gc)
            _harness.Loop.InvokeAsync(() => _harness.Runtime.Run($"collectgarbage('{gc}')")).GetAwaiter().GetResult();
        // Warm-up pass: loads blocklists, creates the session runners.
        Pass();
    }

    [Benchmark(OperationsPerInvoke = PassHarness.Batch, Description = "pass of a headline message, full JID, delivered")]
    public int Pass() => _harness.Pass();

    [GlobalCleanup]
    public void Cleanup() => _harness.Dispose();
}
