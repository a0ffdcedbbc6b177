using BenchmarkDotNet.Running;
using LuaXmpp.Bench.Micro;

// All benchmark classes of this assembly (including Bridge/); pass BenchmarkDotNet flags,
// e.g. --filter '*Xml*' --job short. --cpu-time [Bridge|Pass]: loop-thread CPU time per
// operation instead (ThreadCpu), for a shared machine where wall-clock time follows the load.
if (args.Length > 0 && args[0] == "--cpu-time")
{
    CpuTimeRunner.Run(args.Length > 1 ? args[1] : null);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(XmlBenchmarks).Assembly).Run(args);
