using LuaXmpp.Configuration;
using LuaXmpp.Events;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// The Lua collector runs with Prosody 0.12's settings: its `gc` option, else incremental with
/// threshold 105 and speed 500 (util/startup.lua). Lua's own defaults (200, 100) let a flood of
/// large stanzas double the Lua heap between cycles (issue 16, item 2).
/// </summary>
[Collection("LuaRuntime")]
public sealed class LuaGcConfigTests
{
    // collectgarbage("setpause"/"setstepmul", x) returns the previous value (Lua 5.4 keeps it in
    // steps of 4, so 105 reads back as 104); "incremental" returns the previous mode.
    private const string Probe = """
        module:hook("gc-probe", function(event)
          event.pause = collectgarbage("setpause", 105)
          event.speed = collectgarbage("setstepmul", 500)
          event.mode = collectgarbage("incremental")
        end)
        """;

    [Fact]
    public async Task WithoutTheOption_UsesProsodysDefaults()
    {
        await using var h = RuntimeHarness.Create();
        var e = await ProbeAsync(h);
        Assert.Equal("incremental", e["mode"]);
        Assert.InRange(Convert.ToInt64(e["pause"]), 101, 105);
        Assert.InRange(Convert.ToInt64(e["speed"]), 496, 500);
    }

    [Fact]
    public async Task TheGcOption_IsApplied()
    {
        await using var h = WithGcOption(("mode", "incremental"), ("threshold", 150d), ("speed", 300d));
        var e = await ProbeAsync(h);
        Assert.InRange(Convert.ToInt64(e["pause"]), 146, 150);
        Assert.InRange(Convert.ToInt64(e["speed"]), 296, 300);
    }

    [Fact]
    public async Task GenerationalMode_IsApplied()
    {
        await using var h = WithGcOption(("mode", "generational"));
        Assert.Equal("generational", (await ProbeAsync(h))["mode"]);
    }

    private static RuntimeHarness WithGcOption(params (string Key, object Value)[] fields)
    {
        var gc = new ConfigTable();
        foreach (var (key, value) in fields) gc.Hash[key] = value;
        return RuntimeHarness.Create(new Dictionary<string, object?> { ["gc"] = gc });
    }

    private static async Task<EventData> ProbeAsync(RuntimeHarness h)
    {
        h.WriteModule("gcprobe", Probe);
        Assert.Null(await h.Load("gcprobe"));
        var e = new EventData();
        await h.Fire("gc-probe", e);
        return e;
    }
}
