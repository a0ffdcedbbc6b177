using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LuaXmpp.Tests.Interop;

/// <summary>
/// Every Lua file we ship (src/LuaBridge/Lua/**, modules/**) reads and writes only the globals it
/// may: Lua 5.4's own, the ones the prelude defines as Prosody does, <c>module</c> in a module's
/// environment, and the listed exports. A misspelt local is a global read that is nil at run time
/// (or a write that leaks into every module through _G), found here by the compiler's listing
/// (<c>luac5.4 -p -l -l</c>: GETTABUP / SETTABUP on the _ENV upvalue), not by a user.
/// </summary>
public sealed partial class LuaGlobalsTests
{
    private const string Luac = "luac5.4"; // Debian's lua5.4 package, in scripts/test.sh's PACKAGES

    /// <summary>The base library and standard libraries of Lua 5.4 (manual §6).</summary>
    private static readonly HashSet<string> Standard =
    [
        "_G", "_VERSION", "assert", "collectgarbage", "dofile", "error", "getmetatable", "ipairs", "load",
        "loadfile", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require",
        "select", "setmetatable", "tonumber", "tostring", "type", "warn", "xpcall",
        "coroutine", "debug", "io", "math", "os", "package", "string", "table", "utf8",
    ];

    /// <summary>Globals src/LuaBridge/Lua/prelude.lua defines, as Prosody's startup and util.import do.</summary>
    private static readonly HashSet<string> ProsodyGlobals = ["prosody", "hosts", "full_sessions", "bare_sessions", "import"];

    /// <summary>The file that defines <see cref="ProsodyGlobals"/> (the only one that may write them).</summary>
    private const string Prelude = "src/LuaBridge/Lua/prelude.lua";

    /// <summary>
    /// A module's environment is <c>{ module = api }</c> over _G (core/modulemanager.lua, as
    /// Prosody's), so <c>module</c> is a global there and a module-level global is the module's
    /// export: what <c>module:depends(name)</c> hands other modules.
    /// </summary>
    private const string ModuleGlobal = "module";

    /// <summary>Deliberate globals, each with why. An entry nothing uses any more fails the test.</summary>
    private static readonly Dictionary<(string File, string Name), string> Allowed = new()
    {
        [("modules/mod_smacks.lua", "do_enable")] =
            "export: prosody-modules' mod_sasl2_sm calls module:depends(\"smacks\").do_enable (Bind 2 inline enable)",
        [("modules/mod_smacks.lua", "do_resume")] =
            "export: prosody-modules' mod_sasl2_sm calls module:depends(\"smacks\").do_resume (SASL2 inline resume)",
    };

    [Fact]
    public void ShippedLuaFiles_UseOnlyKnownGlobals()
    {
        var root = RepoRoot();
        var files = ShippedLuaFiles(root).ToList();
        Assert.True(files.Count > 50, $"only {files.Count} Lua files found under {root}");

        var offenders = new List<string>();
        var used = new HashSet<(string, string)>();
        foreach (var relative in files)
        {
            foreach (var access in GlobalAccesses(Path.Combine(root, relative)))
            {
                if (Allowed.ContainsKey((relative, access.Name)))
                {
                    used.Add((relative, access.Name));
                    continue;
                }
                if (!IsAllowed(relative, access)) offenders.Add($"{relative}:{access.Line}: {access.Kind} {access.Name}");
            }
        }

        Assert.True(offenders.Count == 0,
            "Globals that are neither Lua's, Prosody's nor listed (make them local, or list them with a reason):\n  "
            + string.Join("\n  ", offenders));
        var stale = Allowed.Keys.Where(k => !used.Contains(k)).Select(k => $"{k.File} {k.Name}").ToList();
        Assert.True(stale.Count == 0, "Listed globals no longer used; remove from Allowed: " + string.Join(", ", stale));
    }

    /// <summary>The scan finds what it is for: a typo that reads and one that writes a global.</summary>
    [Fact]
    public void Scan_FindsAMisspeltLocal()
    {
        var file = Path.Combine(Path.GetTempPath(), $"luaxmpp-globals-{Guid.NewGuid():N}.lua");
        File.WriteAllText(file, """
            local st = require "util.stanza";
            local count = 0;
            local function bump(stanza)
                cuont = count + 1; -- typo: writes a global
                return stanza, st, conut; -- typo: reads one
            end
            return bump;
            """);
        try
        {
            var found = GlobalAccesses(file).Where(a => !IsAllowed("modules/mod_typo.lua", a)).ToList();
            Assert.Equal([("SETTABUP", "cuont", 4), ("GETTABUP", "conut", 5)], found.Select(a => (a.Kind, a.Name, a.Line)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static bool IsAllowed(string relative, GlobalAccess access)
    {
        bool write = access.Kind == "SETTABUP";
        if (ProsodyGlobals.Contains(access.Name)) return !write || relative == Prelude;
        if (write) return false;
        if (Standard.Contains(access.Name)) return true;
        return access.Name == ModuleGlobal && relative.StartsWith("modules/", StringComparison.Ordinal);
    }

    private readonly record struct GlobalAccess(string Kind, string Name, int Line);

    /// <summary>The file's global reads and writes, from the compiler's full listing.</summary>
    private static List<GlobalAccess> GlobalAccesses(string path)
    {
        var info = new ProcessStartInfo(Luac) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-p", "-l", "-l", path }) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{Luac} not found (Debian package lua5.4, installed by scripts/test.sh): {e.Message}");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var listing = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), $"{Luac} did not finish on {path}");
            Assert.True(process.ExitCode == 0, $"{Luac} failed on {path}: {stderr.Result}");
            return [.. TableUpvalueAccess().Matches(listing).Select(m =>
                new GlobalAccess(m.Groups["op"].Value, m.Groups["name"].Value, int.Parse(m.Groups["line"].Value)))];
        }
    }

    private static IEnumerable<string> ShippedLuaFiles(string root)
    {
        foreach (var dir in new[] { "src/LuaBridge/Lua", "modules" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, dir), "*.lua", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                yield return Path.GetRelativePath(root, file).Replace('\\', '/');
            }
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("LuaXmpp.sln not found above " + AppContext.BaseDirectory);
    }

    // "12	[34]	GETTABUP 	0 0 1	; _ENV "name"" (SETTABUP's comment may go on with the value).
    [GeneratedRegex(@"\[(?<line>\d+)\]\s+(?<op>GETTABUP|SETTABUP)\s[^;\n]*;\s*_ENV\s+""(?<name>[^""\n]*)""")]
    private static partial Regex TableUpvalueAccess();
}
