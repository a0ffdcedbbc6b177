using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Loop;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Tests.Storage;

namespace LuaXmpp.Tests.Hosting;

/// <summary>The order a host's modules load in, which decides what a module's load can rely on.</summary>
public sealed class ModulesForTests
{
    [Fact]
    public async Task ComponentModule_IsLoadedFirst_EvenWhenAModuleEnabledOnTheComponentNamesIt()
    {
        // Prosody's modulemanager loads component_module before the modules enabled on the
        // component: mod_pubsub_text_interface reads the service mod_pubsub's load sets up.
        var component = new HostConfig("news.localhost", HostKind.Component, "pubsub", new Dictionary<string, object?>
        {
            ["modules_enabled"] = TestServer.List(["pubsub_text_interface", "pubsub"]),
            ["modules_disabled"] = TestServer.List(["pubsub"]),
        });
        var config = new ServerConfig(null, new Dictionary<string, object?> { ["storage"] = "memory" },
            [new HostConfig("localhost", HostKind.VirtualHost, null, new Dictionary<string, object?>()), component]);
        using var data = new TempDirectory();
        using var storage = new StorageManager(config, data.Path);
        var loop = new ServerLoop();
        loop.Start();
        try
        {
            var server = new XmppServer(config, loop, storage, host => new InternalHashedProvider(host, storage, iterations: 64));
            var modules = await loop.InvokeAsync(() => server.Modules.ModulesFor(server.ActivateHost(component)));

            Assert.Equal("pubsub", modules[0]);
            Assert.Equal(1, modules.Count(m => m == "pubsub"));
            Assert.Contains("pubsub_text_interface", modules);
        }
        finally
        {
            await loop.DisposeAsync();
        }
    }
}
