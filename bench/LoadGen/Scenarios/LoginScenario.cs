using LuaXmpp.Bench.LoadGen.Client;
using LuaXmpp.Bench.LoadGen.Measure;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// N clients connect, authenticate and bind (and enable XEP-0198 with resumption when
/// --smacks is on); then they stay idle and the server's resident memory growth is divided
/// by the number of sessions. No presence is sent: this is the cost of a bare session.
/// </summary>
public static class LoginScenario
{
    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var target = options.Target();
        var clients = options.Int("clients", 200);
        var smacks = options.Bool("smacks");
        var report = new Report("login", label).Add("clients", clients).Add("smacks", smacks);
        if (smacks && !await SmSupportedAsync(target, options.User(0), cancel))
        {
            return report.Unsupported("server does not advertise urn:xmpp:sm:3");
        }

        var rssBefore = ProcessStats.ServerRssBytes(target.ServerPid);
        var pool = new ClientPool(target, options.Int("concurrency", 50));
        var meter = new CpuMeter(target.ServerPid);
        await pool.LoginAsync(Enumerable.Range(0, clients).Select(options.User), smacks, resume: smacks, cancel);
        var (wall, serverCpu, ownCpu) = meter.Stop();
        await Task.Delay(TimeSpan.FromSeconds(options.Double("idle", 3)), cancel);
        var rssAfter = ProcessStats.ServerRssBytes(target.ServerPid);
        var bound = pool.Bound.Count;
        await pool.CloseAllAsync();
        return report.Add("bound", bound).Add("errors", pool.Errors)
            .Add("logins_per_s", bound / wall)
            .Add("p50_ms", pool.TimeToBound.PercentileMs(50)).Add("p99_ms", pool.TimeToBound.PercentileMs(99))
            .Add("rss_per_session_kb", bound > 0 ? (rssAfter - rssBefore) / 1024.0 / bound : double.NaN)
            .Add("server_rss_mb", rssAfter / 1048576.0)
            .Add("server_cpu_s", serverCpu).Add("loadgen_cpu_s", ownCpu).Add("wall_s", wall)
            .Add("first_error", pool.FirstError);
    }

    public static async Task<bool> SmSupportedAsync(Target target, string user, CancellationToken cancel)
    {
        await using var probe = new XmppClient(target, user, target.Password);
        await probe.ConnectAndAuthenticateAsync(cancel);
        var supported = probe.ServerSupportsSm;
        await probe.CloseAsync();
        return supported;
    }
}
