using System.Text;
using System.Text.RegularExpressions;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Loads every module file of the Debian prosody and prosody-modules packages
/// (/usr/lib/prosody/modules, copied unmodified at test time) on the real server process, each
/// on its own host and the way an operator enables it: a Component for muc, pubsub and
/// http_file_share, the MUC plugins on a MUC component and the pubsub plugins on a pubsub one,
/// <c>authentication = "..."</c> for the auth providers, modules_enabled for the rest. A module
/// counts as loaded when the server logs "Loaded mod_NAME on HOST" and no load error for it.
/// The floor only ever goes up; docs/BRIDGE.md lists the modules that do not load, and why.
/// </summary>
public sealed partial class ProsodyModuleSurveyTests(ITestOutputHelper output)
{
    /// <summary>Modules known to load today (see docs/BRIDGE.md for the others).</summary>
    private const int Floor = 161;

    /// <summary>Hosts per server process: a module that breaks its process only costs its batch.</summary>
    private const int BatchSize = 30;

    private static readonly HashSet<string> Components = ["muc", "pubsub", "http_file_share", "proxy65"];

    /// <summary>Options an operator must set for a module to agree to load.</summary>
    private static readonly Dictionary<string, string> RequiredOptions = new()
    {
        ["auth_insecure"] = "insecure_open_authentication = \"Yes please, I know what I'm doing!\"",
        ["muc_rtbl"] = "muc_rtbl_jid = \"rtbl.localhost\"",
        ["http_upload_external"] = "http_upload_external_base_url = \"https://upload.localhost/\"\nhttp_upload_external_secret = \"survey\"",
        ["auth_oauthbearer"] = "oauth_client_id = \"survey\"\noauth_client_secret = \"survey\"\noauth_url = \"https://oauth.localhost/token\"",
    };

    [Fact]
    public async Task EveryPackageModule_LoadsOnTheRealServer_AsAnOperatorEnablesIt()
    {
        // The log lines matched here are LuaXmpp's; what Prosody 0.12.3 does with the modules that fail
        // here is in docs/BRIDGE.md, checked by hand (Prosody logs nothing for a module that loads).
        if (ServerFlavor.Current.IsProsody) return;
        using var plugins = CopyPackage();
        var names = PackageModuleNames();
        var results = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        for (int start = 0; start < names.Count; start += BatchSize)
        {
            var batch = names.Skip(start).Take(BatchSize).ToList();
            foreach (var (name, error) in await RunBatchAsync(plugins.Path, batch, start)) results[name] = error;
        }

        var loaded = results.Where(r => r.Value is null).Select(r => r.Key).ToList();
        var report = new StringBuilder();
        report.AppendLine($"{loaded.Count} of {results.Count} package modules load on the real server");
        foreach (var (name, error) in results.Where(r => r.Value is not null)) report.AppendLine($"FAIL mod_{name}: {error}");
        report.AppendLine("OK " + string.Join(" ", loaded));
        output.WriteLine(report.ToString());
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "prosody-module-survey.txt"), report.ToString());
        Assert.True(loaded.Count >= Floor, report.ToString());
    }

    private async Task<List<(string Name, string? Error)>> RunBatchAsync(string pluginPath, List<string> batch, int offset)
    {
        var hosts = batch.Select((name, i) => (Name: name, Host: $"m{offset + i}.localhost")).ToList();
        var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(pluginPath));
            foreach (var (name, host) in hosts) config.ExtraSections.Add(Section(name, host));
        });
        string log;
        await using (server)
        {
            try
            {
                await server.LaunchAsync();
                await Task.Delay(TimeSpan.FromSeconds(1)); // timers scheduled at start may still fail a module
            }
            catch (Exception e)
            {
                var reason = "server did not start: " + FirstLine(e.Message);
                return hosts.Select(h => (h.Name, (string?)reason)).ToList();
            }
            log = File.Exists(server.LogPath) ? await File.ReadAllTextAsync(server.LogPath) : "";
        }
        return hosts.Select(h => (h.Name, Verdict(log, h.Name, h.Host))).ToList();
    }

    // How an operator enables the module (Prosody's documentation for each kind).
    private static string Section(string name, string host)
    {
        var options = RequiredOptions.TryGetValue(name, out var o) ? "\n" + o : "";
        if (Components.Contains(name)) return $"Component {ServerConfig.Lua(host)} {ServerConfig.Lua(name)}{options}";
        if (name.StartsWith("muc_", StringComparison.Ordinal) || name is "vcard_muc" or "http_muc_log")
            return $"Component {ServerConfig.Lua(host)} \"muc\"\nmodules_enabled = {ServerConfig.LuaList(name)}{options}";
        if (name.StartsWith("pubsub_", StringComparison.Ordinal))
            return $"Component {ServerConfig.Lua(host)} \"pubsub\"\nmodules_enabled = {ServerConfig.LuaList(name)}{options}";
        if (name.StartsWith("auth_", StringComparison.Ordinal))
            return $"VirtualHost {ServerConfig.Lua(host)}\nauthentication = {ServerConfig.Lua(name["auth_".Length..])}{options}";
        return $"VirtualHost {ServerConfig.Lua(host)}\nmodules_enabled = {ServerConfig.LuaList(name)}{options}";
    }

    private static string? Verdict(string log, string name, string host)
    {
        var error = Regex.Match(log, $"Error loading module '{Regex.Escape(name)}' on '{Regex.Escape(host)}'[^\\n]*");
        if (error.Success) return FirstLine(error.Value["Error loading module".Length..]);
        var skipped = Regex.Match(log, $"Module '{Regex.Escape(name)}' is enabled on '{Regex.Escape(host)}' but not available here");
        if (skipped.Success) return "not available";
        if (log.Contains($"Loaded mod_{name} on {host} ", StringComparison.Ordinal)) return null;
        return "never loaded (no log line)";
    }

    /// <summary>
    /// Module names as Prosody's pluginloader finds them: mod_N.lua, mod_N/mod_N.lua, N/mod_N.lua and
    /// mod_N/N/mod_N.lua (auth_dovecot, muc_log_http, register_json). 171 with Debian's 0.12.3 packages:
    /// 172 mod_*.lua files, of which mod_stanza_counter/mod_stanza_counter_http.lua is reachable under no
    /// module name (a second file in mod_stanza_counter's directory), on Prosody too.
    /// </summary>
    private static List<string> PackageModuleNames()
    {
        var root = ProsodyPluginDirectory.PackageModules;
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(root, "mod_*.lua"))
            names.Add(Path.GetFileNameWithoutExtension(file)["mod_".Length..]);
        foreach (var dir in Directory.GetDirectories(root))
        {
            var dirName = Path.GetFileName(dir);
            var name = dirName.StartsWith("mod_", StringComparison.Ordinal) ? dirName["mod_".Length..] : dirName;
            if (File.Exists(Path.Combine(dir, $"mod_{name}.lua")) || File.Exists(Path.Combine(dir, name, $"mod_{name}.lua"))) names.Add(name);
        }
        return [.. names];
    }

    /// <summary>The whole package, nested library directories included (mod_storage_ldap/ldap/...).</summary>
    private static ProsodyPluginDirectory CopyPackage()
    {
        var plugins = ProsodyPluginDirectory.With();
        var root = ProsodyPluginDirectory.PackageModules;
        foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(plugins.Path, Path.GetRelativePath(root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return plugins;
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length > 240 ? line[..240] + "…" : line;
    }
}
