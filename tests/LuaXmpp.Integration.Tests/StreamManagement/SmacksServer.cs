using System.Text.RegularExpressions;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.StreamManagement;

/// <summary>
/// A real server with mod_smacks and a probe module (in a temporary plugin path) that logs every
/// stream-management event with its payload, so tests can assert which events fired.
/// </summary>
public static class SmacksServer
{
    public const string Password = "secret";

    public const string ProsodyModules = "/usr/lib/prosody/modules";

    // Hooks the four events with Prosody's payload names and logs what they carried. The iq lets
    // a test jump the counters close to 2^32 (wrap-around cannot be reached by sending).
    private const string ProbeModule = """
        local st = require "util.stanza";
        local smacks = require "luaxmpp.smacks";
        local function jid_of(s) return s and tostring(s.full_jid or s.username) or "-"; end
        for _, name in ipairs { "smacks-hibernation-start", "smacks-hibernation-end",
                "smacks-hibernation-stanza-queued", "smacks-ack-delayed" } do
            module:hook(name, function (event)
                module:log("info", "SMACKS-EVENT %s origin=%s resumed=%s queue=%d stanza=%s", name,
                    jid_of(event.origin), jid_of(event.resumed), event.queue and #event.queue or -1,
                    event.stanza and event.stanza.name or "-");
            end);
        end
        module:hook("iq-set/self/urn:test:smacks:counters", function (event)
            local q = event.stanza.tags[1];
            -- This iq is counted once its pass has finished (after this handler): set one less.
            smacks.set_counters(event.origin, (tonumber(q.attr["in"]) - 1) % 4294967296, tonumber(q.attr.out));
            event.origin.send(st.reply(event.stanza));
            return true;
        end);
        -- Sends n MAM-style result messages through the session's Lua send (as mod_mam does),
        -- then the iq result: everything a Lua module sends must be counted too.
        module:hook("iq-set/self/urn:test:smacks:burst", function (event)
            local n = tonumber(event.stanza.tags[1].attr.n);
            for i = 1, n do
                event.origin.send(st.message({ to = event.origin.full_jid, id = "burst" .. i })
                    :tag("result", { xmlns = "urn:xmpp:mam:2", queryid = "q", id = tostring(i) })
                    :tag("forwarded", { xmlns = "urn:xmpp:forward:0" })
                    :tag("message", { xmlns = "jabber:client", from = "x@localhost" }):text_tag("body", "old " .. i));
            end
            event.origin.send(st.reply(event.stanza));
            return true;
        end);
        """;

    public static async Task<ServerProcess> StartAsync(ITestOutputHelper output, IDictionary<string, string>? options = null,
        string smacksModule = "smacks", string? prosodyModulePath = null, params string[] extraModules)
    {
        var server = await ServerProcess.CreateAsync(output, config =>
        {
            var modules = new List<string> { "roster", "saslauth", "tls", "disco", "ping", "time", "version", "uptime", "offline", smacksModule, "smacks_probe" };
            modules.AddRange(extraModules);
            config.Set("modules_enabled", ServerConfig.LuaList([.. modules]));
            foreach (var (key, value) in options ?? new Dictionary<string, string>()) config.Set(key, value);
        });
        var plugins = Directory.CreateDirectory(Path.Combine(server.Directory, "plugins")).FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_smacks_probe.lua"), ProbeModule);
        if (prosodyModulePath is not null) File.Copy(prosodyModulePath, Path.Combine(plugins, "mod_smacks.lua"));
        // Prosody's mod_csi (never committed here) turns <inactive/> into the csi-client-* events.
        if (extraModules.Contains("csi")) File.Copy(Path.Combine(ProsodyModules, "mod_csi.lua"), Path.Combine(plugins, "mod_csi.lua"));
        // Likewise Prosody's mod_mam, unless a mod_mam of our own ships beside the server.
        var ours = Path.Combine(AppContext.BaseDirectory, "modules");
        if (extraModules.Contains("mam") && !File.Exists(Path.Combine(ours, "mod_mam.lua")) && !File.Exists(Path.Combine(ours, "mod_mam", "mod_mam.lua")))
        {
            var mam = Directory.CreateDirectory(Path.Combine(plugins, "mod_mam")).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(ProsodyModules, "mod_mam"))) File.Copy(file, Path.Combine(mam, Path.GetFileName(file)));
        }
        server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
        return await server.LaunchAsync();
    }

    public static async Task RegisterAsync(ServerProcess server, params string[] users)
    {
        foreach (var user in users) await server.RegisterAsync(user, Password);
    }

    public static Task<SmClient> LoginAsync(ServerProcess server, string user, string? resource = "r1") =>
        SmClient.LoginAsync(server, user, Password, resource);

    /// <summary>Probe lines logged so far for <paramref name="eventName"/>.</summary>
    public static IReadOnlyList<string> Events(ServerProcess server, string eventName)
    {
        if (!File.Exists(server.LogPath)) return [];
        using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var pattern = new Regex("SMACKS-EVENT " + Regex.Escape(eventName) + " (.*)$");
        return reader.ReadToEnd().Split('\n').Select(l => pattern.Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
    }

    /// <summary>Polls the log until the event has been logged <paramref name="count"/> times.</summary>
    public static async Task<IReadOnlyList<string>> WaitForEventAsync(ServerProcess server, string eventName, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var lines = Events(server, eventName);
            if (lines.Count >= count || DateTime.UtcNow > deadline) return lines;
            await Task.Delay(50);
        }
    }
}
