using System.Diagnostics;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// A throwaway Prosody 0.12 set-up on an SQLite database (mod_storage_sql) in a temp directory,
/// driven through prosodyctl and a command module of the test's own, so a test can have Prosody
/// itself write and read the database we share. Needs the prosody and lua-dbi-sqlite3 packages;
/// without them the test fails and says how to install them.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Prosody runs on Unix; Unix file modes are set
public sealed class ProsodyInstance : IDisposable
{
    private const string Prosodyctl = "/usr/bin/prosodyctl";
    private const UnixFileMode Shared = (UnixFileMode)0b110_110_110;
    private readonly TempDirectory _dir = new();
    private readonly string _moduleName;

    /// <param name="moduleName">The command module's name without "mod_".</param>
    /// <param name="moduleSource">Its Lua source, with a module.command(arg) entry point.</param>
    public ProsodyInstance(string moduleName, string moduleSource)
    {
        _moduleName = moduleName;
        DataPath = Path.Combine(_dir.Path, "data");
        var plugins = Path.Combine(_dir.Path, "plugins");
        Directory.CreateDirectory(DataPath);
        Directory.CreateDirectory(plugins);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "certs"));
        var module = Path.Combine(plugins, $"mod_{moduleName}.lua");
        File.WriteAllText(module, moduleSource);
        ConfigPath = Path.Combine(_dir.Path, "prosody.cfg.lua");
        File.WriteAllText(ConfigPath, $$"""
            data_path = "{{DataPath}}"
            pidfile = "{{DataPath}}/prosody.pid"
            certificates = "{{_dir.Path}}/certs"
            plugin_paths = { "{{plugins}}" }
            storage = "sql"
            sql = { driver = "SQLite3", database = "prosody.sqlite" }
            log = { error = "{{_dir.Path}}/prosody.err" }
            modules_enabled = {}
            VirtualHost "localhost"
            """);
        // prosodyctl run as root drops to the prosody user, which must reach these files.
        foreach (var d in new[] { _dir.Path, DataPath, plugins }) File.SetUnixFileMode(d, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(ConfigPath, Shared);
        File.SetUnixFileMode(module, Shared);
    }

    /// <summary>The data_path, where prosody.sqlite lives (our StorageManager opens it there too).</summary>
    public string DataPath { get; }

    public string ConfigPath { get; }

    /// <summary>Lets the prosody user write the files we created in the data path (the database, its WAL).</summary>
    public void ShareDataFiles()
    {
        foreach (var f in Directory.GetFiles(DataPath)) File.SetUnixFileMode(f, Shared);
    }

    /// <summary>Runs the command module with arguments; returns the lines it printed after "RESULT:".</summary>
    public List<string> Results(params string[] args) =>
        Run([$"mod_{_moduleName}", .. args]).Split('\n')
            .Where(l => l.StartsWith("RESULT:", StringComparison.Ordinal))
            .Select(l => l["RESULT:".Length..])
            .ToList();

    /// <summary>Runs prosodyctl with this config; fails the test on a non-zero exit or a missing SQLite driver.</summary>
    public string Run(params string[] args)
    {
        if (!File.Exists(Prosodyctl))
        {
            Assert.Fail($"Prosody is not installed ({Prosodyctl} missing): run `apt-get install -y prosody lua-dbi-sqlite3`.");
        }
        var psi = new ProcessStartInfo(Prosodyctl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(ConfigPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            Assert.Fail("prosodyctl did not finish within 60 s");
        }
        var output = stdout.Result + stderr.Result;
        if (output.Contains("DBI", StringComparison.Ordinal) || output.Contains("dbi", StringComparison.Ordinal))
        {
            Assert.Fail("Prosody cannot use SQLite (install lua-dbi-sqlite3): " + output);
        }
        Assert.True(p.ExitCode == 0, $"prosodyctl {string.Join(' ', args)} failed ({p.ExitCode}): {output}");
        return output;
    }

    public void Dispose() => _dir.Dispose();
}
