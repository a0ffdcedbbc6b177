using System.Text.RegularExpressions;
using LuaXmpp.LuaBridge.Runtime;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// The native areas and their shims (docs/BRIDGE.md, "Native areas"): modules reach C# only
/// through the luaxmpp.&lt;area&gt; shims or Prosody's own core libraries, never through a raw
/// luaxmpp.native.&lt;area&gt; table; every shim loads, every function it documents exists, and a
/// wrong argument is a Lua error naming the function instead of a C# cast failure.
/// </summary>
[Collection("LuaRuntime")]
public sealed partial class NativeAreaTests
{
    [GeneratedRegex(@"luaxmpp\.(native|checked)\b")]
    private static partial Regex RawNatives();

    [GeneratedRegex(@"`luaxmpp\.native\.(\w+)`")]
    private static partial Regex DocumentedArea();

    [GeneratedRegex(@"^function M\.(\w+)\(|\bM\.(\w+)(?=(?:, M\.\w+)* = check\.area\()", RegexOptions.Multiline)]
    private static partial Regex ShimFunction();

    [Fact]
    public void Modules_NeverReachARawNativeTable()
    {
        var modules = Path.Combine(RepositoryRoot(), "modules");
        var files = Directory.EnumerateFiles(modules, "*.lua", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        var offenders = files
            .Where(f => RawNatives().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(modules, f))
            .ToList();
        Assert.True(offenders.Count == 0, "modules/ must use the luaxmpp.<area> shims: " + string.Join(", ", offenders));
    }

    [Fact]
    public async Task EveryShim_LoadsAndItsDocumentedFunctionsExist()
    {
        var shims = Shims();
        Assert.Contains("archive", shims.Keys);
        Assert.Contains("smacks", shims.Keys);
        await using var h = RuntimeHarness.Create();
        foreach (var (name, source) in shims)
        {
            var functions = ShimFunction().Matches(source)
                .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
                .ToList();
            Assert.True(functions.Count > 0, $"luaxmpp.{name} documents no function");
            var checks = string.Concat(functions.Select(f =>
                $"assert(type(shim.{f}) == \"function\", \"luaxmpp.{name}.{f} is not a function\")\n"));
            var error = await h.On(() => h.Runtime.Run($"local shim = require \"luaxmpp.{name}\"\n{checks}"));
            Assert.Null(error);
        }
    }

    [Fact]
    public async Task NoFlatTable_AndEveryAreaIsDocumented()
    {
        var bridge = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "BRIDGE.md"));
        var documented = DocumentedArea().Matches(bridge).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("sessions", documented);
        var set = string.Concat(documented.Select(a => $"[\"{a}\"] = true, "));
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run($$"""
            assert(not pcall(require, "luaxmpp.native"), "the flat native table is gone")
            assert(not pcall(require, "luaxmpp.checked"), "the flat checked view is gone")
            local documented, seen = { {{set}} }, {}
            for name, t in pairs(package.loaded) do
                local area = name:match("^luaxmpp%.native%.(%w+)$")
                if area then
                    assert(next(t), area .. " is empty")
                    assert(documented[area], "docs/BRIDGE.md lacks the native area " .. area)
                    seen[area] = true
                end
            end
            for area in pairs(documented) do assert(seen[area], "docs/BRIDGE.md names a native area that does not exist: " .. area) end
            """));
        Assert.Null(error);
    }

    [Fact]
    public async Task AWrongArgument_IsALuaErrorNamingTheShimFunction()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            local function fails(want, f, ...)
                local ok, err = pcall(f, ...)
                assert(not ok, want .. ": no error")
                assert(err:find(want, 1, true), "got: " .. tostring(err))
                assert(not err:find("luaxmpp/check", 1, true), "blames the checker: " .. err)
            end
            fails("bad argument #1 to 'timers.add' (number|string expected, got nil)", require "luaxmpp.timers".add, nil, print)
            fails("bad argument #2 to 'timers.add' (function expected, got number)", require "luaxmpp.timers".add, 1, 2)
            fails("bad argument #1 to 'smacks.info' (session table expected, got string)", require "luaxmpp.smacks".info, "c2s1")
            fails("bad argument #2 to 'archive.open' (string expected, got nil)", require "luaxmpp.archive".open, "localhost")
            fails("bad argument #2 to 'hosts.get_option' (string expected, got number)", require "luaxmpp.hosts".get_option, "localhost", 1)
            -- An opened archive is a store object with Prosody's archive method names.
            local store = require "luaxmpp.archive".open("localhost", "archive_shim_test")
            for _, method in ipairs { "append", "find", "delete", "hook_messages" } do
                assert(type(store[method]) == "function", "archive store lacks " .. method)
            end
            fails("bad argument #3 to 'archive:find' (function expected, got nil)", store.find, store, "juliet", {})
            -- Right arguments reach C#: the host's options and the timer come back.
            assert(require "luaxmpp.hosts".get_option("localhost", "storage") == "memory")
            local id = require "luaxmpp.timers".add(3600, function() end)
            assert(math.type(id) == "integer")
            require "luaxmpp.timers".stop(id)
            """));
        Assert.Null(error);
    }

    /// <summary>The embedded lua/luaxmpp/*.lua shims (check.lua is their helper), by area name.</summary>
    private static Dictionary<string, string> Shims()
    {
        var assembly = typeof(LuaRuntime).Assembly;
        var shims = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = Regex.Match(resource, @"^lua/luaxmpp/(\w+)\.lua$");
            if (!match.Success || match.Groups[1].Value == "check") continue;
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            shims[match.Groups[1].Value] = reader.ReadToEnd();
        }
        return shims;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("LuaXmpp.sln not found above " + AppContext.BaseDirectory);
    }
}
