using System.Text;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// Tries to load every module of the Debian prosody package (/usr/lib/prosody/modules, copied
/// unmodified at test time), one by one, each on a fresh test host, and reports how many load
/// without error. The floor only ever goes up: it guards what the bridge already supports.
/// </summary>
[Collection("LuaRuntime")]
public sealed class ProsodyModuleSurveyTests(ITestOutputHelper output)
{
    private const string PackageModules = "/usr/lib/prosody/modules";

    /// <summary>Modules known to load today (see docs/BRIDGE.md for the list of the others).</summary>
    private const int Floor = 92;

    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Module names as Prosody finds them: mod_N.lua, mod_N/mod_N.lua and N/mod_N.lua.</summary>
    private static List<string> PackageModuleNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(PackageModules, "mod_*.lua"))
            names.Add(Path.GetFileNameWithoutExtension(file)["mod_".Length..]);
        foreach (var dir in Directory.GetDirectories(PackageModules))
        {
            var dirName = Path.GetFileName(dir);
            var name = dirName.StartsWith("mod_", StringComparison.Ordinal) ? dirName["mod_".Length..] : dirName;
            if (File.Exists(Path.Combine(dir, $"mod_{name}.lua"))) names.Add(name);
        }
        return [.. names];
    }

    private static string CopyPackage()
    {
        var target = Directory.CreateTempSubdirectory("luaxmpp-survey-").FullName;
        foreach (var file in Directory.GetFiles(PackageModules, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(PackageModules, file);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }
        return target;
    }

    [Fact]
    public async Task EveryPackageModule_IsTriedOnAFreshHost_AndMostLoad()
    {
        Assert.True(Directory.Exists(PackageModules), "the Debian prosody package must be installed");
        var copy = CopyPackage();
        var failures = new List<(string Name, string Error)>();
        var loaded = new List<string>();
        try
        {
            foreach (var name in PackageModuleNames())
            {
                var error = await TryLoadAsync(copy, name);
                if (error is null) loaded.Add(name);
                else failures.Add((name, error));
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }

        var report = new StringBuilder();
        report.AppendLine($"{loaded.Count} of {loaded.Count + failures.Count} package modules load");
        foreach (var (name, error) in failures) report.AppendLine($"FAIL mod_{name}: {error}");
        report.AppendLine("OK " + string.Join(" ", loaded));
        output.WriteLine(report.ToString());
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "prosody-module-survey.txt"), report.ToString());
        Assert.True(loaded.Count >= Floor, report.ToString());
    }

    private static async Task<string?> TryLoadAsync(string pluginPath, string name)
    {
        var h = RuntimeHarness.Create(extraPaths: pluginPath);
        try
        {
            var load = h.Load(name);
            if (await Task.WhenAny(load, Task.Delay(LoadTimeout)) != load) return "timed out";
            var error = await load;
            return error is null ? null : FirstLine(error);
        }
        finally
        {
            await h.DisposeAsync();
        }
    }

    private static string FirstLine(string error)
    {
        var line = error.Split('\n')[0].Trim();
        return line.Length > 240 ? line[..240] + "…" : line;
    }
}
