using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's mod_pep, copied unmodified from the Debian package, on the real server process with
/// two slixmpp clients: an OMEMO device list publish reaches a contact that asked for it with
/// +notify in its entity capabilities (XEP-0163 §4, XEP-0384 §4.2).
/// </summary>
public sealed class PepModuleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Pep_DevicelistPublish_NotifiesAContactWithPlusNotify()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_pep.lua", "mod_pubsub");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("modules_enabled", ServerConfig.LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "register", "pep"));
        });
        if (!server.Flavor.IsProsody)
        {
            server.Check(() => Assert.Contains($"Loaded mod_pep on {server.Host} from", server.LogTail(100_000)));
        }
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        var result = await PythonClient.RunAsync(server, "prosody_pep.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("result", r.String("publish"));
            Assert.Equal(server.Jid("alice"), r.String("event.from"));
            Assert.Equal("result", r.String("fetch.type"));
        });
    }
}
