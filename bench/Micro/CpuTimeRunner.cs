using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// <c>--cpu-time [filter]</c>: runs the benchmarks that record <see cref="ThreadCpu"/> (bridge and
/// pass benchmarks) and prints the median loop-thread CPU time per operation over 15 batches
/// after the warm-up, one line per benchmark and parameter value (markdown). The warm-up runs
/// until the JIT has stopped compiling (no method compiled for WarmQuiet, which is longer than
/// the tiering's 100 ms call-counting delay; at most WarmMax): with tiered compilation a method is recompiled
/// optimized only after 30 calls and a 100 ms delay, in the background, and the 3 warm-up batches
/// (~6 ms) used before measured partly unoptimized code: the nil row came out at ~1.6-1.8 or
/// ~2.5-2.8 µs depending on the process, and at 1.1-1.3 µs once warm (docs/BRIDGE.md).
/// LUAXMPP_BENCH_METHOD=name runs only the benchmark methods whose name contains it, and
/// LUAXMPP_BENCH_BATCHES=n runs n batches instead of 18 (long runs for a profiler such as perf),
/// LUAXMPP_BENCH_PARAM=value only that parameter value.
/// </summary>
public static class CpuTimeRunner
{
    public static void Run(string? filter)
    {
        Console.WriteLine("| Benchmark | Params | CPU ns/op (median) | min | max |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        foreach (var type in new[] { typeof(Bridge.BridgeBenchmarks), typeof(Bridge.PassBenchmarks), typeof(PassDeploymentBenchmarks) })
        {
            if (filter is not null && !type.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var param = type.GetProperties().FirstOrDefault(p => p.GetCustomAttribute<ParamsAttribute>() is not null);
            var values = param?.GetCustomAttribute<ParamsAttribute>()!.Values ?? [null];
            // LUAXMPP_BENCH_PARAM=value: only that parameter value (e.g. one module set of PassBenchmarks).
            var only = Environment.GetEnvironmentVariable("LUAXMPP_BENCH_PARAM");
            foreach (var value in values)
            {
                if (only is { Length: > 0 } && !string.Equals(value?.ToString(), only, StringComparison.Ordinal)) continue;
                RunOne(type, param, value);
            }
        }
    }

    private static void RunOne(Type type, PropertyInfo? param, object? value)
    {
        var bench = Activator.CreateInstance(type)!;
        param?.SetValue(bench, value);
        Invoke(bench, typeof(GlobalSetupAttribute));
        try
        {
            foreach (var method in type.GetMethods())
            {
                if (method.GetCustomAttribute<BenchmarkAttribute>() is not { } attribute) continue;
                if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_METHOD") is { Length: > 0 } only && !method.Name.Contains(only, StringComparison.Ordinal)) continue;
                var samples = new List<double>();
                WarmUp(bench, method);
                int batches = int.TryParse(Environment.GetEnvironmentVariable("LUAXMPP_BENCH_BATCHES"), out var b) ? b : 15;
                for (int i = 0; i < batches; i++)
                {
                    method.Invoke(bench, null);
                    samples.Add(ThreadCpu.LastBatch / (double)attribute.OperationsPerInvoke);
                }
                samples.Sort();
                Console.WriteLine($"| {attribute.Description ?? method.Name} | {value ?? ""} | {samples[samples.Count / 2]:0} | {samples[0]:0} | {samples[^1]:0} |");
            }
        }
        finally
        {
            Invoke(bench, typeof(GlobalCleanupAttribute));
        }
    }

    private static readonly TimeSpan WarmQuiet = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan WarmMax = TimeSpan.FromSeconds(10);

    private static void WarmUp(object bench, MethodInfo method)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        while (started.Elapsed < WarmMax && quiet.Elapsed < WarmQuiet)
        {
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            method.Invoke(bench, null);
            if (System.Runtime.JitInfo.GetCompiledMethodCount() != compiled) quiet.Restart();
        }
    }

    private static void Invoke(object bench, Type attribute)
    {
        foreach (var m in bench.GetType().GetMethods())
        {
            if (m.GetCustomAttribute(attribute) is not null) m.Invoke(bench, null);
        }
    }
}
