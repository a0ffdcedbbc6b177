namespace LuaXmpp.Tests.Fixtures;

/// <summary>Which server binary the fixture drives. LuaXmpp is the product; Prosody (set
/// <c>LUAXMPP_ITEST_SERVER=prosody</c>) runs the very same scenarios against the reference
/// implementation, which is how the tests themselves are validated.</summary>
public sealed class ServerFlavor
{
    private ServerFlavor(string name) => Name = name;

    public string Name { get; }

    public bool IsProsody => ReferenceEquals(this, Prosody);

    public static ServerFlavor LuaXmpp { get; } = new("luaxmpp");

    public static ServerFlavor Prosody { get; } = new("prosody");

    public static ServerFlavor Current { get; } =
        Environment.GetEnvironmentVariable("LUAXMPP_ITEST_SERVER") == "prosody" ? Prosody : LuaXmpp;

    public static string LuaXmppDll => Path.Combine(AppContext.BaseDirectory, "luaxmpp.dll");

    /// <summary>The command line that runs the server in the foreground.</summary>
    public (string FileName, string[] Arguments) ServerCommand(string configPath) => IsProsody
        ? ("prosody", ["--config", configPath, "-F"])
        : ("dotnet", [LuaXmppDll, "--config", configPath]);

    /// <summary>The command line of an administrative CLI call (prosodyctl-compatible verbs).</summary>
    public (string FileName, string[] Arguments) CliCommand(string configPath, IEnumerable<string> verb) => IsProsody
        ? ("prosodyctl", ["--config", configPath, .. verb])
        : ("dotnet", [LuaXmppDll, "--config", configPath, .. verb]);

    /// <summary>Prosody 0.12 cannot use SQL without LuaDBI, refuses to run as root and binds
    /// s2s/http ports by default; none of that is under test here.</summary>
    public void Adapt(ServerConfig config, string directory)
    {
        if (!IsProsody)
        {
            return;
        }

        config.Set("run_as_root", "true")
            .Set("pidfile", ServerConfig.Lua(Path.Combine(directory, "prosody.pid")))
            .Set("storage", ServerConfig.Lua("internal"))
            .Set("certificates", ServerConfig.Lua(Path.Combine(directory, "certs")))
            .Set("s2s_ports", "{}").Set("http_ports", "{}").Set("https_ports", "{}").Set("component_ports", "{}");
    }

    /// <summary>Prosody does not make its own certificate; LuaXmpp must (server contract).</summary>
    public async Task PrepareAsync(ServerConfig config, string directory)
    {
        if (!IsProsody)
        {
            return;
        }

        var certs = Directory.CreateDirectory(Path.Combine(directory, "certs")).FullName;
        foreach (var host in config.VirtualHosts)
        {
            var result = await ChildProcess.RunAsync("openssl",
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + host,
                 "-keyout", Path.Combine(certs, host + ".key"), "-out", Path.Combine(certs, host + ".crt")],
                directory, TimeSpan.FromSeconds(60));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException("openssl failed: " + result);
            }
        }
    }
}
