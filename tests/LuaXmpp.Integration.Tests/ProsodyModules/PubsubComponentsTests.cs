using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Several <c>Component "..." "pubsub"</c> hosts in one process, each with Prosody's mod_pubsub and
/// mod_pubsub_text_interface (copied unmodified at test time). mod_pubsub's module.load reads its
/// node store before it sets the service that mod_pubsub_text_interface reads as it loads, so the
/// loader must go on only once a load finished; a load that waits (here for a timer) is awaited
/// without blocking the loop and then loaded; a load that raises or does not finish within
/// module_load_timeout is logged by name with its reason and is not counted as loaded.
/// </summary>
public sealed class PubsubComponentsTests(ITestOutputHelper output)
{
    private static readonly string[] Services = ["news.localhost", "feeds.localhost"];
    private const string PubsubNs = "http://jabber.org/protocol/pubsub";

    // Test modules of ours: one whose load raises, one whose load waits for a timer past
    // module_load_timeout (3 s here: a loaded machine once took over 1 s to load mod_pubsub), one whose load waits briefly and finishes.
    private const string RaisingModule = "module.load = function() error(\"refusing on purpose\"); end\n";
    private const string SleepingModule =
        "function module.load() require \"util.async\".sleep(6); module:log(\"info\", \"woke up\"); end\n";
    private const string WaitingModule =
        "function module.load() require \"util.async\".sleep(0.2); module:log(\"info\", \"waited and loaded\"); end\n";

    [Fact]
    public async Task TwoPubsubComponents_EachPublishesAndServesItsItem_AndTheirTextInterfacesLoad()
    {
        using var plugins = ProsodyPluginDirectory.With("mod_pubsub", "mod_pubsub_text_interface");
        var luaxmpp = !ServerFlavor.Current.IsProsody;
        if (luaxmpp)
        {
            File.WriteAllText(Path.Combine(plugins.Path, "mod_load_raises.lua"), RaisingModule);
            File.WriteAllText(Path.Combine(plugins.Path, "mod_load_sleeps.lua"), SleepingModule);
            File.WriteAllText(Path.Combine(plugins.Path, "mod_load_waits.lua"), WaitingModule);
        }
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            // mod_pubsub lets admins create nodes (their affiliation is owner); others get forbidden.
            config.Set("admins", ServerConfig.LuaList("alice@localhost"));
            foreach (var service in Services)
            {
                config.ExtraSections.Add($"Component {ServerConfig.Lua(service)} \"pubsub\"\n"
                    + "autocreate_on_publish = true\n"
                    + $"modules_enabled = {ServerConfig.LuaList("pubsub_text_interface")}");
            }
            if (luaxmpp)
            {
                config.Set("module_load_timeout", "3");
                config.ExtraSections.Add("VirtualHost \"broken.localhost\"\nmodules_enabled = { \"load_raises\"; \"load_sleeps\"; \"load_waits\" }");
            }
        });
        await server.RegisterAsync("alice", "pass-alice");
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(server.Host, "alice", "pass-alice");

        foreach (var service in Services)
        {
            var published = await IqAsync(client, service, "set",
                $"<publish node='headlines'><item id='first'><entry xmlns='urn:example:news'>{service}</entry></item></publish>");
            Assert.True((string?)published.Attribute("type") == "result", published.ToString());

            var items = await IqAsync(client, service, "get", "<items node='headlines'/>");
            Assert.True((string?)items.Attribute("type") == "result", items.ToString());
            var item = Assert.Single(items.Descendants(XName.Get("item", PubsubNs)));
            Assert.Equal("first", (string?)item.Attribute("id"));
            Assert.Equal(service, item.Elements().Single().Value);

            // mod_pubsub_text_interface read this component's service when it loaded.
            // Its reply carries an id of its own, so it is known by its sender.
            await client.SendAsync($"<message to='{service}' id='list-{service}' type='chat'><body>list</body></message>");
            // A message without a body from the service (a notification) is not the reply; an
            // error is, and fails the test with the whole stanza (CI once saw an empty reply).
            var reply = await FindAsync(client, $"message from {service}",
                e => e.Name.LocalName == "message" && (string?)e.Attribute("from") == service
                    && (e.Element(XName.Get("body", "jabber:client")) is not null || (string?)e.Attribute("type") == "error"));
            var body = reply.Element(XName.Get("body", "jabber:client"))?.Value ?? "";
            Assert.True(body.Contains("- `headlines`", StringComparison.Ordinal), $"{reply}\n{server.Describe()}");
        }

        if (!luaxmpp) return;
        var log = await ReadLogAsync(server, "gave up on it; discarded");
        Assert.Contains("Error loading module 'load_raises' on 'broken.localhost'", log);
        Assert.Contains("Error loading module 'load_sleeps' on 'broken.localhost': did not finish loading within 3 s", log);
        Assert.Contains("Loaded mod_load_waits on broken.localhost", log);
        Assert.Contains("mod_load_sleeps on broken.localhost finished loading after the loader gave up on it; discarded", log);
        Assert.DoesNotContain("Loaded mod_load_raises on", log);
        Assert.DoesNotContain("Loaded mod_load_sleeps on", log);
        Assert.DoesNotContain("Error loading module 'pubsub", log);
    }

    private static async Task<XElement> IqAsync(RawXmppClient client, string to, string type, string payload)
    {
        var id = $"{type}-{Guid.NewGuid():N}";
        await client.SendAsync($"<iq to='{to}' type='{type}' id='{id}'><pubsub xmlns='{PubsubNs}'>{payload}</pubsub></iq>");
        return await FindAsync(client, $"iq {id}", e => e.Name.LocalName == "iq" && (string?)e.Attribute("id") == id);
    }

    private static async Task<XElement> FindAsync(RawXmppClient client, string what, Func<XElement, bool> match)
    {
        XElement? Find(string text) => StreamTranscript.Parse(text).Elements.FirstOrDefault(match);
        var text = await client.ReadUntilAsync(t => Find(t) is not null, what, TimeSpan.FromSeconds(10));
        return Find(text)!;
    }

    /// <summary>The server's log once it holds <paramref name="line"/> (bounded wait).</summary>
    private static async Task<string> ReadLogAsync(ServerProcess server, string line)
    {
        var log = "";
        for (int i = 0; i < 100 && !log.Contains(line, StringComparison.Ordinal); i++)
        {
            if (i > 0) await Task.Delay(100);
            log = File.Exists(server.LogPath) ? await File.ReadAllTextAsync(server.LogPath) : "";
        }
        return log;
    }
}
