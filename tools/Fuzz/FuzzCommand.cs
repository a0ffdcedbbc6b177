using System.Diagnostics;
using LuaXmpp.Tests.Fuzz;

namespace LuaXmpp.Fuzz;

/// <summary>
/// Long fuzzing runs over the XML stream parser (and, with a first argument <c>stanzas</c>, the stanza fuzzer: see Stanzas/StanzaFuzzCommand):
/// <c>dotnet run --project tools/Fuzz -c Release -- --inputs N --seed S [--max-seconds T] [--start I] [--only I] [--max-findings M] [--max-input-bytes B]</c>.
/// On top of the engine's checks it bounds each input's time (the thread's CPU time: the machine is shared)
/// and allocations, measured here only, never in unit tests. Findings are printed in base64 and saved under tools/Fuzz/findings/; the exit code is 1.
/// </summary>
public static class FuzzCommand
{
    /// <summary>Time allowed per 64 KiB of input (at least one unit); a slow input is re-run before it counts.</summary>
    private static readonly TimeSpan s_timePer64KiB = TimeSpan.FromMilliseconds(100);

    // Allocation bound: linear in the input and in the events (each element is parsed twice and round-tripped
    // through a fresh parser). Anything quadratic blows far past it; the heap itself is capped at 256 MiB
    // (runtimeconfig.template.json), so unbounded growth ends as an OutOfMemoryException, another finding.
    private const long AllocationBase = 4L * 1024 * 1024;
    private const long AllocationPerInputByte = 200;
    private const long AllocationPerEvent = 32 * 1024;

    public static int Main(string[] args)
    {
        // Second mode: the stanza fuzzer against a real server (tools/Fuzz/Stanzas).
        if (args.Length > 0 && args[0] == "stanzas") return Stanzas.StanzaFuzzCommand.RunAsync(args[1..]).GetAwaiter().GetResult();
        var options = Options.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine("usage: --inputs N --seed S [--max-seconds T] [--start I] [--only I] [--max-findings M] [--max-input-bytes B]");
            return 2;
        }
        var fuzzer = new StreamFuzzer(options.Seed, options.MaxInputBytes);
        var tally = new FuzzTally();
        var clock = Stopwatch.StartNew();
        var slowest = (Index: -1L, Ms: 0.0, Length: 0);
        double maxAllocationRatio = 0;
        int findings = 0;
        long end = options.Only ?? options.Start + options.Inputs - 1;
        for (long i = options.Only ?? options.Start; i <= end; i++)
        {
            if (options.MaxSeconds is { } max && clock.Elapsed.TotalSeconds > max) break;
            byte[] input = fuzzer.MakeInput(i, out var rng);
            var (result, elapsed, allocated) = Measure(fuzzer, input, rng);
            string? finding = result.Finding;
            var timeBound = s_timePer64KiB * Math.Max(1, Math.Ceiling(input.Length / 65536.0));
            if (finding is null && elapsed > timeBound)
            {
                // The machine is shared: only an input that is slow every time is a finding.
                for (int retry = 0; retry < 2 && elapsed > timeBound; retry++)
                {
                    elapsed = TimeSpan.FromTicks(Math.Min(elapsed.Ticks, Measure(fuzzer, input, fuzzer.Rng(i)).Elapsed.Ticks));
                }
                if (elapsed > timeBound) finding = $"took {elapsed.TotalMilliseconds:F1} ms (bound {timeBound.TotalMilliseconds} ms)";
            }
            long allocationBound = AllocationBase + AllocationPerInputByte * input.Length + AllocationPerEvent * result.Events;
            if (finding is null && allocated > allocationBound) finding = $"allocated {allocated} bytes (bound {allocationBound})";
            if (finding is not null) result = result with { Outcome = FuzzOutcome.Finding, Finding = finding };
            tally.Add(result, input.Length);
            if (elapsed.TotalMilliseconds > slowest.Ms) slowest = (i, elapsed.TotalMilliseconds, input.Length);
            maxAllocationRatio = Math.Max(maxAllocationRatio, (double)allocated / Math.Max(input.Length, 1));
            if (finding is not null)
            {
                Report(options, i, input, finding);
                if (++findings >= options.MaxFindings) break;
            }
            if (options.Only is not null) Console.WriteLine($"input {i}: {input.Length} bytes, {result.Label}, {result.Events} events");
            if ((i + 1) % 100_000 == 0) Console.WriteLine($"... {i + 1} inputs, {clock.Elapsed.TotalSeconds:F0} s");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"seed={options.Seed} {tally}");
        Console.WriteLine(
            $"seconds={seconds:F1} inputs/s={tally.Inputs / seconds:F0} MB/s={tally.Bytes / seconds / 1e6:F1} " +
            $"peak-working-set={Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB " +
            $"slowest=#{slowest.Index} {slowest.Ms:F1} ms {ThreadCpuClock.Kind} ({slowest.Length} bytes) max-alloc/byte={maxAllocationRatio:F0}");
        return findings > 0 ? 1 : 0;
    }

    /// <summary>Runs one input; the time is the thread's CPU time (see <see cref="ThreadCpuClock"/>).</summary>
    private static (FuzzResult Result, TimeSpan Elapsed, long Allocated) Measure(StreamFuzzer fuzzer, byte[] input, Random rng)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        long start = ThreadCpuClock.Now();
        var result = fuzzer.Run(input, rng);
        var elapsed = TimeSpan.FromTicks(ThreadCpuClock.Now() - start);
        return (result, elapsed, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Report(Options options, long index, byte[] input, string finding)
    {
        string dir = Path.Combine(FindToolDirectory(), "findings");
        Directory.CreateDirectory(dir);
        string stem = Path.Combine(dir, $"seed{options.Seed}-input{index}");
        File.WriteAllBytes(stem + ".bin", input);
        File.WriteAllText(stem + ".txt", $"seed {options.Seed} input {index} ({input.Length} bytes)\n{finding}\n");
        Console.WriteLine($"FINDING seed={options.Seed} input={index} bytes={input.Length}: {finding}");
        // The whole input when short; long ones are in the .bin file (the console is for a quick look).
        const int shown = 3072;
        Console.WriteLine(Convert.ToBase64String(input.Length > shown ? input[..shown] : input) + (input.Length > shown ? $" [first {shown} bytes; all in {stem}.bin]" : ""));
    }

    /// <summary>tools/Fuzz in the source tree (the working directory when run with dotnet run), else the current directory.</summary>
    private static string FindToolDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.Fuzz.csproj"))) return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }

    private sealed record Options(long Inputs, int Seed, double? MaxSeconds, long Start, long? Only, int MaxFindings, int MaxInputBytes)
    {
        public static Options? Parse(string[] args)
        {
            var values = new Dictionary<string, string>();
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) return null;
                values[args[i][2..]] = args[i + 1];
            }
            if (args.Length % 2 != 0) return null;
            long? only = values.TryGetValue("only", out var o) ? long.Parse(o) : null;
            if (!values.ContainsKey("seed") || (!values.ContainsKey("inputs") && only is null)) return null;
            return new Options(
                long.Parse(values.GetValueOrDefault("inputs", "1")),
                int.Parse(values["seed"]),
                values.TryGetValue("max-seconds", out var t) ? double.Parse(t) : null,
                long.Parse(values.GetValueOrDefault("start", "0")),
                only,
                int.Parse(values.GetValueOrDefault("max-findings", "10")),
                int.Parse(values.GetValueOrDefault("max-input-bytes", (512 * 1024).ToString())));
        }
    }
}
