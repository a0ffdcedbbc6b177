using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Pipeline;

/// <summary>
/// Issue 11 point 5: the cron service Prosody 0.12's core provides (module:hourly/daily/weekly,
/// last-run times in the "cron" store, overdue tasks run after start) is the server's own
/// (modules/mod_cron.lua); Prosody's mod_cron.lua is not on the path.
/// </summary>
public sealed class CronTests(ITestOutputHelper output)
{
    // Records a last run two hours ago the first time, so its hourly task is overdue at start.
    private const string ProbeModule = """
        local store = module:open_store("cron", "map");
        if not store:get(nil, "cron_probe/tick") then
            assert(store:set(nil, "cron_probe/tick", os.time() - 7200));
        end
        module:hourly("Tick", function (task, started_at)
            module:log("info", "CRON-TICK %s %d", task.id, started_at);
        end);
        """;

    [Fact]
    public async Task OverdueTask_RunsAfterStart_AndItsLastRunIsKept()
    {
        await using var server = await ServerProcess.CreateAsync(output, config =>
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "cron_probe")));
        var plugins = Directory.CreateDirectory(Path.Combine(server.Directory, "plugins")).FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_cron_probe.lua"), ProbeModule);
        server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
        await server.LaunchAsync();

        bool ran = await ServerLog.ContainsAsync(server, "CRON-TICK cron_probe/tick", TimeSpan.FromSeconds(15));
        await server.StopAsync();
        int runsBefore = ServerLog.Count(server, "CRON-TICK");

        // Restarted: the run was saved, so the task is not due again for an hour.
        await server.StartAsync();
        bool ranAgain = await ServerLog.ContainsAsync(server, "CRON-TICK", TimeSpan.FromSeconds(5)) && ServerLog.Count(server, "CRON-TICK") > runsBefore;
        var log = ServerLog.Read(server);

        server.Check(() =>
        {
            Assert.True(ran, "the overdue hourly task did not run after start");
            Assert.Equal(1, runsBefore);
            Assert.False(ranAgain, "the task ran again after a restart: its last run was not kept");
            Assert.DoesNotContain("Periodic task cron_probe/tick failed", log);
        });
    }
}
