using BenchmarkDotNet.Attributes;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// The pass of one message from a bound session to another's full JID through the router with
/// the module set a deployment enables (bench/compare --deployment: roster saslauth tls disco
/// ping carbons csi_simple blocklist smacks mam offline register; our mod_mam and mod_smacks,
/// Prosody's mod_csi_simple and mod_csi files, the rest native), with bench/compare's archive
/// options. "headline" is routed and not archived (XEP-0313 §5: the server decides; Prosody's
/// rules skip headlines); "chat" is archived twice (sender's and recipient's archive).
/// </summary>
[MemoryDiagnoser]
public class PassDeploymentBenchmarks
{
    private static readonly string[] DeploymentSet =
        ["roster", "saslauth", "tls", "disco", "ping", "carbons", "csi_simple", "blocklist", "smacks", "mam", "offline", "register"];

    [Params("headline", "chat")]
    public string Type { get; set; } = "headline";

    private PassHarness _harness = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _harness = PassHarness.Create("luaxmpp-deploy-");
        var root = PassHarness.RepositoryRoot();
        PassHarness.CopyDirectory(Path.Combine(root, "modules", "mod_mam"), Path.Combine(_harness.Plugins, "mod_mam"));
        File.Copy(Path.Combine(root, "modules", "mod_smacks.lua"), Path.Combine(_harness.Plugins, "mod_smacks.lua"));
        foreach (var file in new[] { "mod_csi_simple.lua", "mod_csi.lua" })
            File.Copy(Path.Combine("/usr/lib/prosody/modules", file), Path.Combine(_harness.Plugins, file));
        var global = new Dictionary<string, object?>
        {
            ["storage"] = Environment.GetEnvironmentVariable("PASS_STORAGE") ?? "sql",
            ["sql"] = SqlTable(Path.Combine(_harness.Data, "bench.sqlite")),
            ["archive_expires_after"] = "never",
            ["default_archive_policy"] = true,
        };
        var set = Environment.GetEnvironmentVariable("PASS_MODULES")?.Split(',') ?? DeploymentSet;
        // As the server does: Prosody's autoloaded modules (mod_message delivers), then the set.
        await _harness.StartAsync(global, ModuleManager.AutoloadModules.Concat(set).Distinct(), Type);
        if (Environment.GetEnvironmentVariable("PASS_CHAINS") is not null) PrintChains();
        Pass(); // warm-up: session runners, rosters, blocklists, archive preferences
    }

    // PASS_CHAINS=1: which handlers (module, Lua or C#, priority) the message's pass meets.
    private void PrintChains()
    {
        var bus = _harness.Server.FindHost(PassHarness.Host)!.Events;
        foreach (var name in new[] { "pre-stanza", "pre-message/full", "message/full", "archive-should-store", "carbons-should-copy", "csi-is-stanza-important" })
        {
            foreach (var entry in bus.Handlers(name))
            {
                var kind = entry.Callback.Target?.GetType().Name == "LuaHandler" ? "Lua" : "C#";
                Console.Error.WriteLine($"{name}\t{entry.Priority}\t{kind}\t{entry.Owner}");
            }
        }
    }

    private static ConfigTable SqlTable(string database)
    {
        var table = new ConfigTable();
        table.Hash["driver"] = "SQLite3";
        table.Hash["database"] = database;
        return table;
    }

    [Benchmark(OperationsPerInvoke = PassHarness.Batch, Description = "pass with the deployment module set, full JID, delivered")]
    public int Pass() => _harness.Pass();

    [GlobalCleanup]
    public void Cleanup() => _harness.Dispose();
}
