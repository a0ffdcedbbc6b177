using LuaXmpp.Configuration;
using LuaXmpp.Tls;

namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// The checks <c>check config</c> runs on an evaluated config, after prosodyctl's: hosts present
/// and enabled, modules that exist, encryption required without certificates, options that are
/// obsolete, deprecated, misplaced or look misspelt.
/// </summary>
public static class ConfigChecker
{
    public static IReadOnlyList<ConfigProblem> Check(ServerConfig config, Func<string, bool> moduleExists)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(moduleExists);
        var problems = new List<ConfigProblem>();
        CheckGlobalSection(config, problems);
        CheckHosts(config, problems);
        CheckModules(config, moduleExists, problems);
        CheckOptionNames(config, problems);
        CheckCertificates(config, problems);
        return problems;
    }

    private static bool IsEnabled(ServerConfig config, HostConfig host) => config.GetBoolean(host.Name, "enabled", true);

    private static IEnumerable<HostConfig> EnabledHosts(ServerConfig config) => config.Hosts.Where(h => IsEnabled(config, h));

    private static void CheckGlobalSection(ServerConfig config, List<ConfigProblem> problems)
    {
        // A config with a host at the top puts every option in that host's section.
        if (!config.Global.Keys.Any(k => k != "log"))
        {
            problems.Add(new(true, "No global options defined. Perhaps you have put a host definition at the top of the config file? "
                + "Global options belong above any VirtualHost or Component definition."));
        }
    }

    private static void CheckHosts(ServerConfig config, List<ConfigProblem> problems)
    {
        var virtualHosts = config.Hosts.Where(h => h.Kind == HostKind.VirtualHost).ToArray();
        if (virtualHosts.Length == 0)
        {
            problems.Add(new(true, "No hosts are defined, please add at least one VirtualHost section"));
        }
        else if (!virtualHosts.Any(h => IsEnabled(config, h)))
        {
            problems.Add(new(true, ConfigValues.AsBoolean(config.Global.GetValueOrDefault("enabled")) == false
                ? "No hosts are enabled. Remove enabled = false from the global section or put enabled = true under at least one VirtualHost section"
                : "All hosts are disabled. Remove enabled = false from at least one VirtualHost section"));
        }
    }

    private static void CheckModules(ServerConfig config, Func<string, bool> moduleExists, List<ConfigProblem> problems)
    {
        var global = config.GetStringList(null, "modules_enabled");
        var all = new List<string>(global);
        foreach (var host in EnabledHosts(config))
        {
            if (host.Options.TryGetValue("modules_enabled", out var own)) all.AddRange(ConfigValues.AsStringList(own));
            if (host.ComponentModule is { } module)
            {
                all.Add(module);
                if (global.Contains(module))
                {
                    problems.Add(new(false, $"mod_{module} is enabled both in modules_enabled and as Component \"{host.Name}\" \"{module}\": "
                        + "the service is then enabled on all VirtualHosts as well as on the Component"));
                }
            }
        }
        var names = all.Distinct(StringComparer.Ordinal).ToArray();
        var prefixed = names.Where(n => n.StartsWith("mod_", StringComparison.Ordinal)).ToArray();
        if (prefixed.Length > 0)
        {
            problems.Add(new(false, "Modules in modules_enabled should not have the 'mod_' prefix included: " + string.Join(", ", prefixed)));
        }
        var unknown = names.Where(n => !moduleExists(n.StartsWith("mod_", StringComparison.Ordinal) ? n[4..] : n)).ToArray();
        if (unknown.Length > 0)
        {
            problems.Add(new(false, "These modules are enabled but could not be found: " + string.Join(", ", unknown)));
        }
    }

    private static void CheckOptionNames(ServerConfig config, List<ConfigProblem> problems)
    {
        Report(problems, "global section", config.Global.Keys);
        foreach (var host in config.Hosts)
        {
            var misplaced = host.Options.Keys.Where(k => KnownConfigOptions.GlobalOnly.Contains(k) || LooksLikeListenerOption(k)).ToArray();
            if (misplaced.Length > 0)
            {
                problems.Add(new(false, $"Options set under {host.Name} that only work in the global section (above any VirtualHost or Component): "
                    + string.Join(", ", misplaced)));
            }
            Report(problems, host.Name, host.Options.Keys);
        }
    }

    // Network listener settings (ports, interfaces, per-service ssl) are global, as prosodyctl says.
    private static bool LooksLikeListenerOption(string name) =>
        (name.StartsWith("interface", StringComparison.Ordinal)
            || name.EndsWith("_port", StringComparison.Ordinal) || name.EndsWith("_ports", StringComparison.Ordinal)
            || name.EndsWith("_interface", StringComparison.Ordinal) || name.EndsWith("_interfaces", StringComparison.Ordinal)
            || (name.EndsWith("_ssl", StringComparison.Ordinal) && name is not ("c2s_ssl" or "s2s_ssl")))
        && name is not ("external_service_port" or "turn_external_port");

    private static void Report(List<ConfigProblem> problems, string section, IEnumerable<string> options)
    {
        foreach (var name in options.Order(StringComparer.Ordinal))
        {
            if (KnownConfigOptions.Obsolete.Contains(name))
                problems.Add(new(false, $"Obsolete option '{name}' in {section} can be removed"));
            else if (KnownConfigOptions.Deprecated.TryGetValue(name, out var instead))
                problems.Add(new(false, $"Deprecated option '{name}' in {section}: instead, {instead}"));
            else if (!KnownConfigOptions.IsKnown(name) && Suggest(name) is { } suggestion)
                problems.Add(new(false, $"Unknown option '{name}' in {section}: did you mean '{suggestion}'?"));
        }
    }

    private static void CheckCertificates(ServerConfig config, List<ConfigProblem> problems)
    {
        var directory = config.Path is null ? Environment.CurrentDirectory : Path.GetDirectoryName(config.Path) ?? "/";
        foreach (var host in EnabledHosts(config).Where(h => h.Kind == HostKind.VirtualHost))
        {
            // Prosody 0.12 defaults c2s_require_encryption to true (falling back to require_encryption).
            var required = ConfigValues.AsBoolean(config.Get(host.Name, "c2s_require_encryption"))
                ?? ConfigValues.AsBoolean(config.Get(host.Name, "require_encryption"))
                ?? true;
            // A configured certificate that is missing is an error the host's preflight reports.
            var configured = config.Get(host.Name, "ssl") is ConfigTable ssl && ssl["certificate"] is not null;
            if (required && !configured && CertificateLoader.Find(config, host.Name, directory) is null)
            {
                problems.Add(new(false, $"No certificate found for {host.Name}, and c2s_require_encryption is on: the server will generate a self-signed one at start, "
                    + $"which clients must be told to accept. Put {host.Name}.crt and {host.Name}.key in the certificates directory or set ssl = {{ certificate = ..., key = ... }}"));
            }
        }
    }

    // A known option within a small edit distance, for names that are probably typos.
    private static string? Suggest(string name)
    {
        if (name.Length < 5) return null;
        int limit = name.Length < 10 ? 1 : 2;
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var known in KnownConfigOptions.GlobalOnly.Concat(KnownConfigOptions.Common).Order(StringComparer.Ordinal))
        {
            int d = Distance(name, known);
            if (d <= limit && d < bestDistance)
            {
                best = known;
                bestDistance = d;
            }
        }
        return best;
    }

    // Optimal string alignment distance: Levenshtein plus swaps of adjacent letters, a common typo.
    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
