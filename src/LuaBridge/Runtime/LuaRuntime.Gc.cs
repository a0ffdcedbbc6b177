using System.Globalization;
using LuaXmpp.Configuration;

namespace LuaXmpp.LuaBridge.Runtime;

public sealed partial class LuaRuntime
{
    // Prosody 0.12's collector settings when the config has no `gc` option (util/startup.lua):
    // incremental, a new cycle when the heap reaches 105 % of what the last one left, and a
    // collection speed of 500. Lua's own defaults (200 %, 100) let a flood of large stanzas
    // double the Lua heap between cycles (issue 16, item 2: +20 MiB of malloc'd memory).
    private const int DefaultThreshold = 105;
    private const int DefaultSpeed = 500;

    /// <summary>
    /// Applies the global `gc` option as Prosody does (mode "incremental" with threshold, speed,
    /// step_size; or "generational" with minor_threshold, major_threshold); unknown modes and
    /// non-numbers get one error line and Prosody's defaults.
    /// </summary>
    private void ConfigureGarbageCollector()
    {
        var options = _server.Config.Get(null, "gc") as ConfigTable;
        string mode = options?["mode"] as string ?? "incremental";
        string? call = mode switch
        {
            "incremental" => Collect("incremental", Number(options, "threshold") ?? DefaultThreshold, Number(options, "speed") ?? DefaultSpeed, Number(options, "step_size") ?? 0),
            "generational" => Collect("generational", Number(options, "minor_threshold") ?? 0, Number(options, "major_threshold") ?? 0),
            _ => null,
        };
        if (call is null)
        {
            _log.Error($"Failed to apply GC configuration: GC mode not supported on Lua 5.4: {mode}");
            call = Collect("incremental", DefaultThreshold, DefaultSpeed, 0);
        }
        // The constructor runs before the loop does: the main state is used directly.
        if (_main.DoString(call))
        {
            _log.Error($"Failed to apply GC configuration: {_main.ToString(-1, false)}");
            _main.Pop(1);
        }
    }

    private static int? Number(ConfigTable? options, string key) =>
        ConfigValues.AsNumber(options?[key]) is { } n ? (int)Math.Clamp(n, 0, 10_000) : null;

    // 0 keeps Lua's own value for that parameter (lua_gc's convention).
    private static string Collect(string mode, params int[] parameters) =>
        $"collectgarbage(\"{mode}\", {string.Join(", ", parameters.Select(p => p.ToString(CultureInfo.InvariantCulture)))})";
}
