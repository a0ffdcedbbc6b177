using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Pipeline;

/// <summary>
/// Issue 11, "a handler that raises or waits forever in the middle of the pipeline affects only
/// its own stanza or session, and the log names the module": a Lua test module (written into a
/// temporary plugin path) hooks pre-message/bare, raises on one body and waits forever on
/// another; the real server process and raw clients show what happens to everyone else.
/// </summary>
public sealed class PipelineFaultTests(ITestOutputHelper output)
{
    private const string Host = "localhost";

    private const string FaultyModule = """
        local async = require "util.async";
        module:hook("pre-message/bare", function (event)
            local body = event.stanza:get_child_text("body");
            if body == "raise" then error("faulty handler raised on purpose"); end
            if body == "hang" then
                local wait = async.waiter();
                wait(); -- nobody ever calls done()
            end
        end, 5);
        """;

    [Fact]
    public async Task HandlerThatRaisesOrWaitsForever_AffectsOnlyItsStanzaOrSession_AndTheLogNamesTheModule()
    {
        await using var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "faulty"));
            config.Set("handler_wait_warning", "1");
        });
        var plugins = Directory.CreateDirectory(Path.Combine(server.Directory, "plugins")).FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_faulty.lua"), FaultyModule);
        server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
        await server.LaunchAsync();

        await using var bob = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await bob.LoginAsync(Host, "bob", "pw", register: true);
        await using var alice = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await alice.LoginAsync(Host, "alice", "pw", register: true);
        await using var carol = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await carol.LoginAsync(Host, "carol", "pw", register: true);

        // Raises: that message goes nowhere, the error is logged with the module's name, and the
        // sender's next message goes through.
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='r1'><body>raise</body></message>");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='a1'><body>after the raise</body></message>");
        var skipped = new List<System.Xml.Linq.XElement>();
        await bob.WaitForAsync(e => (string?)e.Attribute("id") == "a1", "alice's message after the raise", null, skipped);
        bool raisedLogged = await ServerLog.ContainsAsync(server, "faulty handler raised on purpose");

        // Waits forever: carol's pass never ends, so her later input is held (in order), while
        // everyone else goes on; the log names the module whose handler holds the pass.
        await carol.SendAsync("<message to='bob@localhost' type='chat' id='h1'><body>hang</body></message>");
        bool carolPing = await carol.PingAsync(Host, "cp1", TimeSpan.FromSeconds(3));
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='a2'><body>while carol hangs</body></message>");
        await bob.WaitForAsync(e => (string?)e.Attribute("id") == "a2", "alice's message while carol's pass hangs", null, skipped);
        bool alicePing = await alice.PingAsync(Host, "ap1", TimeSpan.FromSeconds(10));
        bool waitLogged = await ServerLog.ContainsAsync(server, "has waited", TimeSpan.FromSeconds(10));
        var log = ServerLog.Read(server);

        server.Check(() =>
        {
            Assert.DoesNotContain(skipped, e => (string?)e.Attribute("id") is "r1" or "h1");
            Assert.True(raisedLogged, "the raised error was not logged");
            Assert.Contains(log.Split('\n'), l => l.Contains("faulty") && l.Contains("Error in handler for event 'pre-message/bare'"));
            Assert.False(carolPing, "carol's ping was answered although her previous stanza's pass never ended");
            Assert.True(alicePing, "alice's ping was not answered while carol's pass hung");
            Assert.True(waitLogged, "no warning about the waiting handler");
            Assert.Contains(log.Split('\n'), l => l.Contains("has waited") && l.Contains("faulty") && l.Contains("pre-message/bare"));
        });
    }
}
