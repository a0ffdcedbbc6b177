using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody's mod_muc, copied unmodified from the Debian package, as the operator enables it:
/// <c>Component "conference.localhost" "muc"</c>. A slixmpp client discovers it, creates a room
/// by joining and gets its groupchat message back (XEP-0045 §6.2, §7.2, §7.4).
/// </summary>
public sealed class MucModuleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Muc_OnAComponent_IsDiscovered_CreatesARoomOnJoin_AndEchoesGroupchat()
    {
        using var plugins = ProsodyPluginDirectory.With("muc", "mod_muc_unique.lua", "adhoc");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.ExtraSections.Add("Component \"conference.localhost\" \"muc\"");
        });
        await server.RegisterAsync("alice", "pass-alice");

        var result = await PythonClient.RunAsync(server, "prosody_muc.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice", "--service", "conference.localhost");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Contains("http://jabber.org/protocol/muc", r.Strings("features"));
            Assert.Contains("110", r.Strings("join_codes"));
            Assert.Contains("201", r.Strings("join_codes"));
            Assert.Equal("tavern@conference.localhost/alice", r.String("echo_from"));
        });
    }
}
