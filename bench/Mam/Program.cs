using LuaXmpp.Bench.Mam;

// Usage: dotnet run -c Release --project bench/Mam -- [writer|server|prosody|fulltext|all] [--small] [--size N] [--postgres]
//   --size N      the big archive's size (default 1 000 000, --small 100 000)
//   --postgres    archives on a PostgreSQL 15 the bench starts (writer and prosody modes)
//   --server-dll <path>  the luaxmpp.dll to run (default: src/Host/bin/Release/net10.0/luaxmpp.dll)
var mode = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
bool small = args.Contains("--small");
int dllAt = Array.IndexOf(args, "--server-dll");
string root = FindRoot();
string serverDll = dllAt >= 0 ? args[dllAt + 1] : Path.Combine(root, "src/Host/bin/Release/net10.0/luaxmpp.dll");
int sizeAt = Array.IndexOf(args, "--size");
int size = sizeAt >= 0 ? int.Parse(args[sizeAt + 1], System.Globalization.CultureInfo.InvariantCulture) : small ? 100_000 : 1_000_000;
var dir = Directory.CreateTempSubdirectory("luaxmpp-mam-bench-").FullName;
if (args.Contains("--postgres")) await BenchDatabase.StartPostgresAsync();
using (var probe = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:"))
{
    probe.Open();
    Console.WriteLine($"LuaXmpp MAM bench in {dir} ({Environment.ProcessorCount} cores), SQLite {probe.ServerVersion} via {typeof(Microsoft.Data.Sqlite.SqliteConnection).Assembly.GetName().Version}");
}
try
{
    if (mode is "writer" or "all") await WriterBench.RunAsync(Path.Combine(dir, "writer"), size, size / 10, 1000);
    if (mode is "server" or "all") await ServerBench.RunAsync(Path.Combine(dir, "server"), serverDll, small ? 20_000 : 200_000, small ? 200 : 1000);
    if (mode is "fulltext" or "all") await FullTextBench.RunAsync(Path.Combine(dir, "fulltext"), size / 2, size / 2, 1000);
    if ((mode is "prosody" or "all") && !OperatingSystem.IsWindows()) await ProsodyBench.RunAsync(Path.Combine(dir, "prosody"), 2_000, size);
}
finally
{
    await BenchDatabase.StopAsync();
    if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_KEEP") is null) Directory.Delete(dir, recursive: true);
}

static string FindRoot()
{
    var d = new DirectoryInfo(AppContext.BaseDirectory);
    while (d is not null && !File.Exists(Path.Combine(d.FullName, "LuaXmpp.sln"))) d = d.Parent;
    return d?.FullName ?? Directory.GetCurrentDirectory();
}
