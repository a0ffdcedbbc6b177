using LuaXmpp.Bench.LoadGen.Client;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Wire;

namespace LuaXmpp.Bench.LoadGen.Scenarios;

/// <summary>
/// Creates the benchmark accounts through XEP-0077 in-band registration (§3.1), the one path
/// that is the same on both servers and needs no server-side tooling. An existing account
/// (&lt;conflict/&gt;) counts as ready, so the scenario can be rerun.
/// </summary>
public static class RegisterScenario
{
    public static async Task<Report> RunAsync(Options options, string label, CancellationToken cancel)
    {
        var target = options.Target();
        var users = options.Int("users", 200);
        var report = new Report("register", label);
        var created = 0;
        var existing = 0;
        var errors = 0;
        string? firstError = null;
        var meter = new CpuMeter(target.ServerPid);
        using var gate = new SemaphoreSlim(options.Int("concurrency", 20));
        await Task.WhenAll(Enumerable.Range(0, users).Select(async i =>
        {
            await gate.WaitAsync(cancel);
            try
            {
                var outcome = await RegisterOneAsync(target, options.User(i), cancel);
                lock (report)
                {
                    if (outcome is null) created++;
                    else if (outcome.Contains("conflict")) existing++;
                    else { errors++; firstError ??= outcome; }
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                lock (report) { errors++; firstError ??= e.Message; }
            }
            finally
            {
                gate.Release();
            }
        }));
        var (wall, serverCpu, ownCpu) = meter.Stop();
        return report.Add("users", users).Add("created", created).Add("existing", existing).Add("errors", errors)
            .Add("registrations_per_s", created / wall).Add("wall_s", wall)
            .Add("server_cpu_s", serverCpu).Add("loadgen_cpu_s", ownCpu).Add("first_error", firstError);
    }

    private static async Task OpenStreamAsync(XmppConnection connection, string host, CancellationToken cancel)
    {
        await connection.SendAsync(
            $"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{host}' version='1.0'>",
            cancel);
        await connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "stream:features", cancel);
    }

    /// <summary>Null on success, else the error stanza.</summary>
    private static async Task<string?> RegisterOneAsync(Target target, string user, CancellationToken cancel)
    {
        await using var connection = await XmppConnection.ConnectAsync(target.Port, cancel);
        await OpenStreamAsync(connection, target.Host, cancel);
        if (target.StartTls)
        {
            await connection.SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", cancel);
            await connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "proceed", cancel);
            await connection.StartTlsAsync(target.Host, cancel);
            await OpenStreamAsync(connection, target.Host, cancel);
        }

        await connection.SendAsync(
            $"<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>{user}</username><password>{target.Password}</password></query></iq>",
            cancel);
        var reply = await connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "iq", cancel);
        await connection.SendAsync("</stream:stream>", cancel);
        return reply.Attribute("type") == "result" ? null : reply.Xml;
    }
}
