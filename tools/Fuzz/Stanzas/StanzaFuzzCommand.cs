using LuaXmpp.Tests.Reliability.StanzaFuzz;

namespace LuaXmpp.Fuzz.Stanzas;

/// <summary>
/// Long runs of the stanza fuzzer against a real server it starts:
/// <c>dotnet run --project tools/Fuzz -c Release -- stanzas --inputs N --seed S [--start I] [--only I] [--max-seconds T]
/// [--max-findings M] [--batch B] [--window W] [--max-rss-mib R] [--debug-log 1] [--keep 1]</c>.
/// Findings are printed with their inputs in base64 and saved under tools/Fuzz/findings/; the exit code is then 1.
/// </summary>
public static class StanzaFuzzCommand
{
    private const string Usage =
        "usage: stanzas --inputs N --seed S [--start I] [--only I] [--max-seconds T] [--max-findings M] [--batch B] [--window W] [--max-rss-mib R] [--debug-log 1] [--keep 1]";

    public static async Task<int> RunAsync(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Fail();
            values[args[i][2..]] = args[i + 1];
        }
        if (args.Length % 2 != 0 || !values.ContainsKey("seed") || !(values.ContainsKey("inputs") || values.ContainsKey("only"))) return Fail();

        var options = new StanzaFuzzOptions(int.Parse(values["seed"]), long.Parse(values.GetValueOrDefault("start", "0")), long.Parse(values.GetValueOrDefault("inputs", "1")))
        {
            Only = values.TryGetValue("only", out var only) ? long.Parse(only) : null,
            MaxSeconds = values.TryGetValue("max-seconds", out var t) ? double.Parse(t) : null,
            MaxFindings = int.Parse(values.GetValueOrDefault("max-findings", "20")),
            BatchSize = int.Parse(values.GetValueOrDefault("batch", "250")),
            Window = int.Parse(values.GetValueOrDefault("window", "16")),
            MaxRssMib = long.Parse(values.GetValueOrDefault("max-rss-mib", "1536")),
            Progress = Console.WriteLine,
        };
        bool keep = values.GetValueOrDefault("keep") == "1";
        await using var server = await FuzzServerLauncher.StartAsync(values.GetValueOrDefault("debug-log") == "1", keep);
        // Ctrl-C or SIGTERM on the tool must not leave the server running.
        using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => server.Kill());
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => server.Kill());
        Console.WriteLine($"server in {server.Directory}, c2s port {server.Port}; seed {options.Seed}, inputs {options.First}..{options.Last}");
        StanzaFuzzReport report;
        await using (var driver = new StanzaFuzzDriver(server.Target(), options))
        {
            report = await driver.RunAsync();
        }
        if (options.Only is not null)
        {
            var input = new StanzaInputFactory(options.Seed).Make(options.Only.Value, new NoAddresses());
            Console.WriteLine($"input {input.Index}: slot {input.Slot} {input.Label}, {input.Bytes.Length} bytes: {Convert.ToBase64String(input.Bytes)}");
        }
        foreach (var finding in report.Findings) Save(options.Seed, finding);
        Console.WriteLine($"seed={options.Seed} " + report);
        if (keep) Console.WriteLine($"server directory kept: {server.Directory}");
        return report.Findings.Count > 0 ? 1 : 0;
    }

    private static int Fail()
    {
        Console.Error.WriteLine(Usage);
        return 2;
    }

    private static void Save(int seed, StanzaFuzzFinding finding)
    {
        var dir = Path.Combine(FindToolDirectory(), "findings");
        Directory.CreateDirectory(dir);
        long first = finding.Inputs.Count > 0 ? finding.Inputs[0].Index : -1;
        var stem = Path.Combine(dir, $"stanzas-seed{seed}-input{first}-{finding.Kind}");
        File.WriteAllText(stem + ".txt", $"{finding.Kind}: {finding.Detail}\n" +
            string.Join("\n", finding.Inputs.Select(i => $"input {i.Index} slot {i.Slot} {i.Label}: {Convert.ToBase64String(i.Bytes)}")) + "\n");
        if (finding.Inputs.Count == 1) File.WriteAllBytes(stem + ".bin", finding.Inputs[0].Bytes);
        Console.WriteLine($"saved {stem}.txt");
    }

    private static string FindToolDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.Fuzz.csproj"))) return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }

    /// <summary>Addresses for printing an input outside a run (the JIDs are then placeholders).</summary>
    private sealed class NoAddresses : IFuzzAddressBook
    {
        public string Host => "localhost";

        public int SlotCount => 4;

        public string FullJid(int slot) => $"slot{slot}@localhost/r";

        public string User(int slot) => $"slot{slot}";

        public string? SmId(int slot) => null;
    }
}
