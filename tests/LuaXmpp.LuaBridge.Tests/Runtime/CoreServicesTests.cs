namespace LuaXmpp.Tests.Runtime;

/// <summary>core.statsmanager over the runtime's native counters, and the prosody.* globals module files use.</summary>
[Collection("LuaRuntime")]
public sealed class CoreServicesTests
{
    [Fact]
    public async Task Statsmanager_MetricsLandInTheNativeCounters_AndRenderAsOpenMetrics()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            local statsmanager = require "core.statsmanager"
            local family = statsmanager.metric("counter", "survey_logins", "", "logins", { "host" })
            family:with_labels("example.com"):add(2)
            family:with_labels("example.com"):add(1)
            statsmanager.measure("amount", "survey_sessions")(7)
            local text = statsmanager.get_metric_registry():render()
            assert(text:find('survey_logins{host="example.com"} 3\n', 1, true), text)
            assert(text:find("survey_sessions 7", 1, true), text)
            assert(text:sub(-6) == "# EOF\n", text)
            """));
        Assert.Null(error);
        Assert.Equal(3, h.Runtime.Metrics["survey_logins{example.com}"]);
    }

    [Fact]
    public async Task ProsodyGlobals_AreWhatModulesRead()
    {
        await using var h = RuntimeHarness.Create();
        var error = await h.On(() => h.Runtime.Run("""
            assert(type(prosody.shutdown) == "function")
            assert(prosody.opts.daemonize == false, "runs in the foreground")
            assert(type(prosody.main_thread.run) == "function")
            local ok, err = prosody.reload_config()
            assert(ok == nil and err:find("restart"), tostring(err))
            assert(require "core.certmanager".create_context("localhost", "server") == nil, "TLS is native")
            """));
        Assert.Null(error);
    }
}
