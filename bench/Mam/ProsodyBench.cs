using System.Diagnostics;
using System.Globalization;
using LuaXmpp.Archive;
using LuaXmpp.Storage;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// The same workload on Prosody 0.12 with its own mod_storage_sql (SQLite through LuaDBI), run by
/// prosodyctl with a small command module of ours, next to ours in the same run:
/// appends (Prosody: one transaction per message, its default journal) and page queries as
/// mod_mam asks them (51 items backwards from an id, with the total) on one shared archive.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Prosody and prosodyctl are Unix programs
internal static class ProsodyBench
{
    private const string Prosodyctl = "/usr/bin/prosodyctl";

    private const string CommandModule = """
        local now = require "util.time".now;
        local st = require "util.stanza";
        local function percentile(list, p)
            table.sort(list);
            local i = math.max(1, math.ceil(p / 100 * #list));
            return list[i];
        end
        function module.command(arg)
            local storagemanager = require "core.storagemanager";
            local host = "localhost";
            storagemanager.initialize_host(host);
            local archive = storagemanager.open(host, "archive", "archive");
            if arg[1] == "fill" then
                local n = tonumber(arg[2]);
                local t0 = now();
                for i = 1, n do
                    local m = st.message({ to = "peer@localhost", from = "sender@localhost/phone", type = "chat", id = "msg-" .. i })
                        :text_tag("body", "Message number " .. i .. ": the quick brown fox jumps over the lazy dog.")
                        :tag("request", { xmlns = "urn:xmpp:receipts" }):up();
                    assert(archive:append("pbig", nil, m, os.time(), "peer@localhost"));
                end
                print(("RESULT:%f"):format(n / (now() - t0)));
            elseif arg[1] == "pages" then
                local user, repeats = arg[2], tonumber(arg[3]);
                for i = 4, #arg do
                    local times = {};
                    for _ = 1, repeats do
                        local t0 = now();
                        local items, total = archive:find(user, { before = arg[i], reverse = true, limit = 51, total = true });
                        assert(items, total);
                        local n = 0;
                        for _ in items do n = n + 1; end
                        times[#times + 1] = (now() - t0) * 1000;
                    end
                    print(("RESULT:%s %f %f"):format(arg[i], percentile(times, 50), percentile(times, 99)));
                end
            end
            return 0;
        end
        """;

    public static async Task RunAsync(string dir, int prosodyAppends, int archiveSize)
    {
        if (!File.Exists(Prosodyctl))
        {
            Console.WriteLine("== Prosody: not installed, skipped");
            return;
        }
        var data = Path.Combine(dir, "data");
        var plugins = Path.Combine(dir, "plugins");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(plugins);
        Directory.CreateDirectory(Path.Combine(dir, "certs"));
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_lxbench.lua"), CommandModule);
        string Config(string name, string database, string postgresDatabase)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, $$"""
                data_path = "{{data}}"
                pidfile = "{{data}}/prosody.pid"
                certificates = "{{dir}}/certs"
                plugin_paths = { "{{plugins}}" }
                storage = "sql"
                sql = {{BenchDatabase.ProsodySqlOption(database, postgresDatabase)}}
                log = { error = "{{dir}}/prosody.err" }
                modules_enabled = {}
                VirtualHost "localhost"
                """);
            return path;
        }
        var sharedConfig = Config("prosody-shared.cfg.lua", "prosody.sqlite", "prosodyshared");

        Console.WriteLine($"== Shared archive of {archiveSize:N0} messages (written by our writer in Prosody's schema), page queries by both");
        List<string> ids;
        double ourRate;
        var positions = new[] { ("start", 100), ("middle", archiveSize / 2), ("end", archiveSize - 1) };
        var ours = new List<Latencies>();
        using (var storage = WriterBench.OpenStorage(data, "prosodyshared"))
        {
            await using var service = new ArchiveService(storage.OpenArchive("localhost", "archive"), new ArchiveOptions(), TimeProvider.System);
            (ourRate, ids) = await WriterBench.FillAsync(service, archiveSize, 1, "big", 1_700_000_000, "prosodyshared");
            foreach (var (_, position) in positions) ours.Add(await WriterBench.PageQueriesAsync(service, "big", ids[position], 50));
        }
        Console.WriteLine($"ours: {ourRate:N0} archived msg/s");
        Share(dir);
        var prosody = Run(sharedConfig, ["pages", "big", "20", .. positions.Select(p => ids[p.Item2])]);
        for (int i = 0; i < positions.Length; i++)
        {
            var parts = prosody[i].Split(' ');
            double p50 = double.Parse(parts[1], CultureInfo.InvariantCulture), p99 = double.Parse(parts[2], CultureInfo.InvariantCulture);
            Console.WriteLine($"page at the {positions[i].Item1,-6}: ours {ours[i]}; Prosody p50 {p50:F2} ms, p99 {p99:F2} ms"
                + $"  => Prosody/ours p50 {p50 / ours[i].Percentile(50):F0}x, p99 {p99 / ours[i].Percentile(99):F0}x");
        }

        // Prosody's own appends (one transaction per message, through its storage API, no network)
        // into the same table, which now holds the big archive: a bounded sample of its fill rate at that size.
        Console.WriteLine($"== Prosody 0.12 appends: {prosodyAppends:N0} messages into the {BenchDatabase.Name} table of {archiveSize:N0} rows");
        double prosodyRate = double.Parse(Run(sharedConfig, "fill", prosodyAppends.ToString(CultureInfo.InvariantCulture)).Single(), CultureInfo.InvariantCulture);
        Console.WriteLine($"Prosody: {prosodyRate:N0} archived msg/s  => ours {ourRate / prosodyRate:F1}x Prosody's append rate");
    }

    /// <summary>prosodyctl as root drops to the prosody user, which must reach every file.</summary>
    private static void Share(string dir)
    {
        File.SetUnixFileMode(Path.GetDirectoryName(dir)!, (UnixFileMode)0b111_111_111); // the bench's temp root is 0700
        foreach (var d in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).Append(dir)) File.SetUnixFileMode(d, (UnixFileMode)0b111_111_111);
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(f, (UnixFileMode)0b110_110_110);
    }

    private static List<string> Run(string config, params string[] args)
    {
        var psi = new ProcessStartInfo(Prosodyctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(config);
        psi.ArgumentList.Add("mod_lxbench");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        var lines = stdout.Result.Split('\n').Where(l => l.StartsWith("RESULT:", StringComparison.Ordinal)).Select(l => l["RESULT:".Length..]).ToList();
        if (p.ExitCode != 0 || lines.Count == 0) throw new InvalidOperationException($"prosodyctl {string.Join(' ', args)}: {stdout.Result}{stderr.Result}");
        return lines;
    }
}
