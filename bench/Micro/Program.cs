using BenchmarkDotNet.Running;

// All benchmark classes of this assembly (including Bridge/); pass BenchmarkDotNet flags,
// e.g. --filter '*Xml*' --job short.
BenchmarkSwitcher.FromAssembly(typeof(LuaXmpp.Bench.Micro.XmlBenchmarks).Assembly).Run(args);
