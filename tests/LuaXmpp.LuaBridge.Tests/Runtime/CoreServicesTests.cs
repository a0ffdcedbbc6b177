namespace LuaXmpp.Tests.Runtime;

/// <summary>core.statsmanager's OpenMetrics registry and collectors, and the prosody.* globals module files use.</summary>
[Collection("LuaRuntime")]
public sealed class CoreServicesTests
{
    // Runs a chunk in a fresh runtime; its assertions are the test.
    private static async Task RunsClean(string lua)
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run(lua));
        Assert.Null(error);
    }

    [Fact]
    public async Task Statsmanager_RendersFamiliesAsOpenMetrics()
    {
        await RunsClean("""
            local stats = require "core.statsmanager"._new()
            local logins = stats.metric("counter", "survey_logins", "", "logins", { "host" })
            logins:with_labels("example.com"):add(2)
            logins:with_labels("example.com"):add(1)
            stats.measure("amount", "survey/sessions", nil, "host", "example.com")(7)
            local sizes = stats.metric("histogram", "survey_size", "bytes", "sizes", {}, { buckets = { 10, 100 } })
            sizes:with_labels():sample(5); sizes:with_labels():sample(50); sizes:with_labels():sample(500)
            local text = stats.get_metric_registry():render()
            local function has(s) assert(text:find(s, 1, true), s .. " missing in:\n" .. text) end
            has('# TYPE survey_logins counter\n# HELP survey_logins logins\nsurvey_logins_total{host="example.com"} 3\n')
            has('# TYPE prosody_survey__sessions gauge\n')
            has('prosody_survey__sessions{host="example.com"} 7\n')
            has('# TYPE survey_size_bytes histogram\n# UNIT survey_size_bytes bytes\n')
            has('survey_size_bytes_bucket{le="10"} 1\nsurvey_size_bytes_bucket{le="100"} 2\nsurvey_size_bytes_bucket{le="+Inf"} 3\n')
            has('survey_size_bytes_count 3\nsurvey_size_bytes_sum 555\n')
            assert(text:sub(-6) == "# EOF\n", text)
            """);
    }

    [Fact]
    public async Task Statsmanager_EscapesLabelValuesAndHelp()
    {
        await RunsClean("""
            local stats = require "core.statsmanager"._new()
            local f = stats.metric("gauge", "odd/name-1", "", 'say "hi"\\ now\nnext', { "who", "bad-key" })
            f:with_labels('a "quoted" \\ back\nslash', "x"):set(1.5)
            local text = stats.get_metric_registry():render()
            local want = 'odd__name_1{who="a \\"quoted\\" \\\\ back\\nslash",bad_key="x"} 1.5\n'
            assert(text:find(want, 1, true), text)
            assert(text:find('# HELP odd__name_1 say "hi"\\\\ now\\nnext\n', 1, true), text)
            assert(not text:find("\n\n", 1, true), "no raw line feed inside a line")
            assert(not pcall(f.with_labels, f, "only one"), "wrong label count is refused")
            """);
    }

    [Fact]
    public async Task Statsmanager_CollectFillsProcessAndRuntimeFamilies()
    {
        await RunsClean("""
            local stats = require "core.statsmanager"._new()
            stats.collect()
            local text = stats.get_metric_registry():render()
            local rss = tonumber(text:match("\nprocess_resident_memory_bytes (%S+)\n"))
            assert(rss and rss > 0, text)
            assert(tonumber(text:match("\nprocess_open_fds (%S+)\n")) > 0, text)
            assert(tonumber(text:match("\nlua_heap_bytes (%S+)\n")) > 0, text)
            assert(text:find('\ndotnet_gc_collections_total{generation="0"} ', 1, true), text)
            assert(text:find('\nluaxmpp_c2s_sessions{state="connected"} 0\n', 1, true), text)
            assert(text:find("\nprocess_cpu_seconds_total ", 1, true), text)
            """);
    }

    [Fact]
    public async Task Statsmanager_LegacyMeasures_MapAsProsodys_AndIsOffWithoutStatistics()
    {
        await RunsClean("""
            local off = require "core.statsmanager"
            assert(off.get_metric_registry() == nil, "no `statistics` in the config: no registry")
            off.measure("times", "x")()(); off.metric("counter", "y"):with_labels("a"):add(1)
            local stats = require "core.statsmanager"._new()
            stats.measure("times", "mod_probe/work", nil, "host", "example.com")()()
            stats.measure("distribution", "mod_probe/lag", "seconds")(2)
            stats.measure("rate", "mod_probe/hits")()
            local text = stats.get_metric_registry():render()
            local function has(s) assert(text:find(s, 1, true), s .. " missing in:\n" .. text) end
            has('# TYPE prosody_mod_probe__work_seconds histogram\n')
            has('prosody_mod_probe__work_seconds_bucket{host="example.com",le="100"} 1\n')
            has('prosody_mod_probe__work_seconds_count{host="example.com"} 1\n')
            has('# TYPE prosody_mod_probe__lag_seconds summary\n')
            has('prosody_mod_probe__lag_seconds_sum 2\n')
            has('prosody_mod_probe__hits_total 1\n')
            """);
    }

    [Fact]
    public async Task ProsodyGlobals_AreWhatModulesRead()
    {
        await RunsClean("""
            assert(type(prosody.shutdown) == "function")
            assert(prosody.opts.daemonize == false, "runs in the foreground")
            assert(type(prosody.main_thread.run) == "function")
            local ok, err = prosody.reload_config()
            assert(ok == nil and err:find("restart"), tostring(err))
            assert(require "core.certmanager".create_context("localhost", "server") == nil, "TLS is native")
            """);
    }
}
