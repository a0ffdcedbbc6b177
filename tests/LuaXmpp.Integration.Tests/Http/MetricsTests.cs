using System.Net;
using System.Text.Json;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.ProsodyModules;
using Xunit;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// GET /metrics the way a Prosody operator serves it: Prosody 0.12's own mod_http_openmetrics,
/// unmodified from the Debian package, with <c>statistics = "internal"</c>. The body must pass
/// prometheus_client's OpenMetrics parser and carry Prosody's process families, our native
/// ones and a Lua module's metrics from both APIs (module:measure and module:metric).
/// </summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    // A module using both statistics APIs, with a label value that needs escaping.
    private const string ProbeModule = """
        local binds = module:measure("binds", "rate");
        local messages = module:metric("counter", "messages", "", "Messages from local clients", { "user" });
        module:hook("resource-bind", function() binds(); end);
        module:hook("message/bare", function(event)
            messages:with_labels(event.origin.username .. ' "q" \\ x'):add(1);
        end, 100);
        """;

    [Fact]
    public async Task Metrics_parse_as_OpenMetrics_with_Prosody_names_and_live_numbers()
    {
        // mod_http_file_share: a Prosody module whose measures include a gauge with a unit and a
        // sizes histogram, so the package's own statistics calls go through the parser too.
        using var plugins = ProsodyPluginDirectory.With("mod_http_openmetrics.lua", "mod_http_file_share.lua", "mod_cron.lua");
        await File.WriteAllTextAsync(Path.Combine(plugins.Path, "mod_metrics_probe.lua"), ProbeModule);
        var httpPort = FreePorts.Take(1)[0];
        await using var server = await StartAsync(plugins.Path, httpPort, allowIps: null, busy: true);
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("phone", "pass-alice");

        var result = await PythonClient.RunAsync(server, "metrics.py", "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--http-port", httpPort.ToString(), "--smacks-jid", server.Jid("phone"));

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.StartsWith("application/openmetrics-text", r.String("content_type"));
            var families = r["families"];
            Assert.True(Value(families, "process_resident_memory_bytes", "process_resident_memory_bytes") > 0);
            Assert.True(Value(families, "process_start_time_seconds", "process_start_time_seconds") > 1.6e9);
            Assert.True(Value(families, "process_cpu_seconds", "process_cpu_seconds_total") > 0);
            Assert.True(Value(families, "process_open_fds", "process_open_fds") > 0);
            Assert.True(Value(families, "process_max_fds", "process_max_fds") >= Value(families, "process_open_fds", "process_open_fds"));
            Assert.True(Value(families, "lua_heap_bytes", "lua_heap_bytes") > 0);
            Assert.True(Value(families, "dotnet_gc_heap_size_bytes", "dotnet_gc_heap_size_bytes") > 0);
            Assert.True(Value(families, "dotnet_threadpool_threads", "dotnet_threadpool_threads") >= 1);
            Assert.True(Value(families, "luaxmpp_c2s_sessions", "luaxmpp_c2s_sessions", ("state", "authenticated")) >= 1);
            Assert.True(Value(families, "luaxmpp_c2s_sessions", "luaxmpp_c2s_sessions", ("state", "bound")) >= 1);
            Assert.Equal("counter", families.GetProperty("prosody_mod_metrics_probe__binds").GetProperty("type").GetString());
            Assert.True(Value(families, "prosody_mod_metrics_probe__binds", "prosody_mod_metrics_probe__binds_total", ("host", "localhost")) >= 1);
            Assert.Equal(1, Value(families, "prosody_mod_metrics_probe__messages", "prosody_mod_metrics_probe__messages_total",
                ("host", "localhost"), ("user", "alice \"q\" \\ x")));
            Assert.Equal(1, Value(families, "luaxmpp_smacks_hibernating_sessions", "luaxmpp_smacks_hibernating_sessions"));
            Assert.True(Value(families, "luaxmpp_smacks_queued_stanzas", "luaxmpp_smacks_queued_stanzas") >= 1);
            Assert.True(Value(families, "luaxmpp_archive_committed_messages", "luaxmpp_archive_committed_messages_total") >= 1);
            Assert.True(Value(families, "luaxmpp_archive_commit_batches", "luaxmpp_archive_commit_batches_total") >= 1);
            Assert.True(Value(families, "luaxmpp_archive_commit_seconds", "luaxmpp_archive_commit_seconds_total") > 0);
            // Our own: routed stanzas, Lua dispatch time, archive batch sizes and commit latency.
            Assert.True(Value(families, "luaxmpp_routed_stanzas", "luaxmpp_routed_stanzas_total", ("path", "process")) >= 3);
            Assert.True(Value(families, "luaxmpp_lua_dispatches", "luaxmpp_lua_dispatches_total") >= 1);
            Assert.True(Value(families, "luaxmpp_lua_dispatch_seconds", "luaxmpp_lua_dispatch_seconds_total") > 0);
            Assert.Equal("histogram", families.GetProperty("luaxmpp_archive_batch_size").GetProperty("type").GetString());
            var batches = Value(families, "luaxmpp_archive_batch_size", "luaxmpp_archive_batch_size_count");
            Assert.True(batches >= 1);
            Assert.Equal(batches, Value(families, "luaxmpp_archive_batch_size", "luaxmpp_archive_batch_size_bucket", ("le", "+Inf")));
            Assert.True(Value(families, "luaxmpp_archive_batch_size", "luaxmpp_archive_batch_size_sum") >= batches);
            var commits = Value(families, "luaxmpp_archive_commit_latency_seconds", "luaxmpp_archive_commit_latency_seconds_count");
            Assert.True(commits >= 1);
            Assert.True(Value(families, "luaxmpp_archive_commit_latency_seconds", "luaxmpp_archive_commit_latency_seconds_bucket", ("le", "2.5")) <= commits);
            Assert.Equal(0, Value(families, "prosody_mod_http_file_share__total_storage_bytes", "prosody_mod_http_file_share__total_storage_bytes",
                ("host", "upload.localhost")));
            Assert.Equal("histogram", families.GetProperty("prosody_mod_http_file_share__upload_bytes").GetProperty("type").GetString());
            Assert.Equal(0, Value(families, "prosody_mod_http_file_share__upload_bytes", "prosody_mod_http_file_share__upload_bytes_bucket",
                ("host", "upload.localhost"), ("le", "+Inf")));
        });
    }

    [Fact]
    public async Task An_address_not_in_openmetrics_allow_ips_gets_403()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_http_openmetrics.lua");
        var httpPort = FreePorts.Take(1)[0];
        await using var server = await StartAsync(plugins.Path, httpPort, allowIps: "192.0.2.1");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var response = await client.GetAsync($"http://127.0.0.1:{httpPort}/metrics");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("process_resident_memory_bytes", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_statistics_the_module_says_no_provider_is_configured()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_http_openmetrics.lua");
        var httpPort = FreePorts.Take(1)[0];
        await using var server = await StartAsync(plugins.Path, httpPort, allowIps: null, statistics: false);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var response = await client.GetAsync($"http://127.0.0.1:{httpPort}/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No statistics provider configured", await response.Content.ReadAsStringAsync());
    }

    private async Task<ServerProcess> StartAsync(string plugins, int httpPort, string? allowIps, bool statistics = true, bool busy = false)
    {
        var server = await ServerProcess.StartAsync(output, c =>
        {
            c.Set("plugin_paths", ServerConfig.LuaList(plugins));
            c.Set("http_ports", $"{{ {httpPort} }}");
            c.Set("https_ports", "{ }");
            if (statistics) c.Set("statistics", ServerConfig.Lua("internal"));
            if (allowIps is not null) c.Set("openmetrics_allow_ips", ServerConfig.LuaList(allowIps));
            c.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register",
                "http_openmetrics", "metrics_probe"));
            if (!busy) return;
            // MAM with strict durability: the message the client waits for is committed first.
            c.Set("archive_durability", ServerConfig.Lua("strict"));
            c.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register",
                "http_openmetrics", "metrics_probe", "mam", "smacks"));
            c.ExtraSections.Add("Component \"upload.localhost\" \"http_file_share\"");
        });
        await HttpServerFixture.WaitForPortAsync(httpPort, server);
        return server;
    }

    // The value of the one sample named `sample` in `family` whose labels include `labels`.
    private static double Value(JsonElement families, string family, string sample, params (string Key, string Value)[] labels)
    {
        Assert.True(families.TryGetProperty(family, out var f), $"family {family} missing");
        foreach (var s in f.GetProperty("samples").EnumerateArray())
        {
            if (s[0].GetString() != sample) continue;
            var have = s[1];
            if (labels.All(l => have.TryGetProperty(l.Key, out var v) && v.GetString() == l.Value)) return s[2].GetDouble();
        }
        throw new Xunit.Sdk.XunitException($"no sample {sample} with {string.Join(",", labels)} in {f}");
    }
}
