using System.Text.RegularExpressions;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// The two configs an operator starts from, run by the real server process with only ports and
/// paths changed: Debian's /etc/prosody/prosody.cfg.lua (prosody package) and this repository's
/// prosody.cfg.lua. Every module they enable loads (none "not available here"), and a slixmpp
/// client logs in and uses what they offer.
/// </summary>
public sealed class DefaultConfigTests(ITestOutputHelper output)
{
    private const string DebianConfig = "/etc/prosody/prosody.cfg.lua";

    [Fact]
    public async Task DebianDefaultConfig_LoadsEveryModule_AndAClientUsesPepAndMuc()
    {
        var text = await File.ReadAllTextAsync(DebianConfig);
        // The one step Debian's config asks of an operator who wants group chats: uncomment its MUC Component.
        text = text.Replace("--Component \"conference.example.com\" \"muc\"", "Component \"conference.localhost\" \"muc\"", StringComparison.Ordinal);
        await using var server = await StartAsync(text, includeDirectory: "/etc/prosody/conf.d");

        AssertEveryModuleLoaded(server);
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        var pep = await PythonClient.RunAsync(server, "prosody_pep.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
        pep.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("publish"));
            Assert.Equal(server.Jid("alice"), r.String("event.from"));
        });
        var muc = await PythonClient.RunAsync(server, "prosody_muc.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice", "--service", "conference.localhost");
        muc.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Contains("201", r.Strings("join_codes"));
            Assert.Equal("tavern@conference.localhost/alice", r.String("echo_from"));
        });
    }

    [Fact]
    public async Task RepositoryDefaultConfig_LoadsEveryModule_AndAClientLogsInAndJoinsARoom()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "prosody.cfg.lua"));
        await using var server = await StartAsync(text);
        if (server.Flavor.IsProsody) return; // this config names LuaXmpp's own modules (mod_mam/, mod_smacks)

        AssertEveryModuleLoaded(server);
        await server.RegisterAsync("alice", "pass-alice");
        var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("alice"), "--password", "pass-alice");
        login.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.StartsWith(server.Jid("alice") + "/", r.String("bound_jid"));
        });
        var muc = await PythonClient.RunAsync(server, "prosody_muc.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice", "--service", "conference.localhost");
        muc.Check(r => Assert.Equal("tavern@conference.localhost/alice", r.String("echo_from")));
    }

    /// <summary>
    /// Writes <paramref name="config"/> with its ports and paths changed into a fresh server
    /// directory and starts it. Global options the config sets are replaced in place; the ones it
    /// leaves to their defaults are set at its top (before any VirtualHost, so they stay global).
    /// </summary>
    private async Task<ServerProcess> StartAsync(string config, string? includeDirectory = null)
    {
        var server = await ServerProcess.CreateAsync(output);
        try
        {
            var ports = FreePorts.Take(4);
            var replacements = new Dictionary<string, string>
            {
                ["c2s_ports"] = $"{{ {server.C2sPort} }}",
                ["c2s_direct_tls_ports"] = $"{{ {server.DirectTlsPort} }}",
                ["s2s_ports"] = $"{{ {ports[0]} }}",
                ["http_ports"] = $"{{ {ports[1]} }}",
                ["https_ports"] = $"{{ {ports[2]} }}",
                ["component_ports"] = $"{{ {ports[3]} }}",
                ["interfaces"] = "{ \"127.0.0.1\" }",
                ["data_path"] = ServerConfig.Lua(server.DataPath),
                ["certificates"] = ServerConfig.Lua(Path.Combine(server.Directory, "certs")),
                ["pidfile"] = ServerConfig.Lua(Path.Combine(server.Directory, "server.pid")),
                ["log"] = $"{{ info = {ServerConfig.Lua(server.LogPath)} }}",
                ["plugin_paths"] = "{ }",
            };
            // The fixture runs as root, which Prosody refuses, and LuaXmpp too (as Prosody) unless run_as_root is set.
            replacements["run_as_root"] = "true";
            foreach (var (name, value) in replacements) config = ReplaceOption(config, name, value);
            var top = string.Concat(replacements.Where(r => !SetsOption(config, r.Key)).Select(r => $"{r.Key} = {r.Value}\n"));
            await File.WriteAllTextAsync(server.ConfigPath, top + config);
            if (includeDirectory is not null) CopyFollowingLinks(includeDirectory, Path.Combine(server.Directory, Path.GetFileName(includeDirectory)));
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static void AssertEveryModuleLoaded(ServerProcess server) => server.Check(() =>
    {
        var log = server.LogTail(100_000);
        Assert.DoesNotContain("not available here", log);
        Assert.DoesNotContain("Error loading module", log);
        Assert.DoesNotContain("Modules not loaded", log);
    });

    /// <summary>Replaces the value of a top-level `name = ...` assignment (a one-line value or a braced block).</summary>
    private static string ReplaceOption(string config, string name, string value)
    {
        var match = Regex.Match(config, $@"(?m)^{Regex.Escape(name)}\s*=\s*");
        if (!match.Success) return config;
        var start = match.Index + match.Length;
        var end = config[start] == '{' ? MatchingBrace(config, start) + 1 : config.IndexOf('\n', start);
        if (end <= 0) end = config.Length;
        return config[..match.Index] + $"{name} = {value}" + config[end..];
    }

    private static bool SetsOption(string config, string name) => Regex.IsMatch(config, $@"(?m)^{Regex.Escape(name)}\s*=");

    private static int MatchingBrace(string text, int open)
    {
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return i;
        }
        throw new XunitException("unbalanced braces in the config");
    }

    private static void CopyFollowingLinks(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            // Debian's conf.d holds symlinks into conf.avail: copy what they point to.
            File.Copy(new FileInfo(file).ResolveLinkTarget(true)?.FullName ?? file, Path.Combine(target, Path.GetFileName(file)));
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new XunitException("repository root (LuaXmpp.sln) not found above " + AppContext.BaseDirectory);
    }
}
