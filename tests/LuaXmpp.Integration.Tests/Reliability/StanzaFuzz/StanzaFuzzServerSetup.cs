namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// The server the stanza fuzzer drives: the usual modules, our mod_smacks and mod_mam, and Prosody's
/// own carbons, blocklist, private, vcard, lastactivity and csi modules copied unmodified from the
/// Debian package into a plugin directory. Plain TCP (no STARTTLS): the handlers are under test, not TLS.
/// </summary>
public static class StanzaFuzzServerSetup
{
    public const string PackageModules = "/usr/lib/prosody/modules";

    public static readonly string[] ProsodyModuleFiles =
        ["mod_carbons.lua", "mod_blocklist.lua", "mod_private.lua", "mod_vcard.lua", "mod_lastactivity.lua", "mod_csi.lua", "mod_csi_simple.lua"];

    public static readonly string[] Modules =
    [
        "roster", "saslauth", "tls", "disco", "ping", "register", "time", "version", "uptime", "offline", "smacks", "mam",
        "carbons", "blocklist", "private", "vcard", "lastactivity", "csi", "csi_simple",
    ];

    /// <summary>Copies the package modules into <paramref name="pluginDirectory"/>.</summary>
    public static void WritePlugins(string pluginDirectory)
    {
        Directory.CreateDirectory(pluginDirectory);
        foreach (var file in ProsodyModuleFiles)
        {
            var source = Path.Combine(PackageModules, file);
            if (!File.Exists(source)) throw new InvalidOperationException($"{source} is missing: the Debian prosody package must be installed");
            File.Copy(source, Path.Combine(pluginDirectory, file), overwrite: true);
        }
    }

    /// <summary>Global options (name, Lua expression) on top of the test defaults (ports, data path, storage sql).</summary>
    public static IEnumerable<(string Name, string Lua)> Options(string pluginDirectory, string logPath, bool debugLog)
    {
        yield return ("plugin_paths", $"{{ \"{pluginDirectory}\" }}");
        yield return ("modules_enabled", "{ " + string.Join("; ", Modules.Select(m => $"\"{m}\"")) + " }");
        yield return ("c2s_require_encryption", "false");
        yield return ("allow_unencrypted_plain_auth", "true");
        yield return ("allow_registration", "true");
        // Info level by default: a million inputs at debug would write gigabytes; bugs log at error.
        yield return ("log", $"{{ {(debugLog ? "debug" : "info")} = \"{logPath}\" }}");
    }
}
