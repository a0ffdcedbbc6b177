using LuaXmpp.Hosting;
using LuaXmpp.Modules.Native;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules;

public sealed class DiscoModuleTests : ServerTest
{
    private static IEnumerable<string?> Features(XmlElement reply) =>
        reply.Element("query", Namespaces.DiscoInfo)!.Elements("feature").Select(f => f.GetAttribute("var"));

    [Fact]
    public async Task HostDiscoInfo_ListsServerIdentityAndModuleFeatures()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var identity = Assert.Single(reply.Element("query")!.Elements("identity"));
        Assert.Equal("server", identity.GetAttribute("category"));
        Assert.Equal("im", identity.GetAttribute("type"));
        var features = Features(reply).ToList();
        foreach (var f in new[] { Namespaces.DiscoInfo, Namespaces.DiscoItems, Namespaces.Roster, Namespaces.Ping, "urn:xmpp:time", "jabber:iq:version", "jabber:iq:last", "jabber:iq:register" })
        {
            Assert.Contains(f, features);
        }
        Assert.Equal(features.Count, features.Distinct().Count());
    }

    [Fact]
    public async Task HostDiscoInfo_IncludesFeatureAddedLater_AndDropsItOnUnload()
    {
        var a = await Server.ConnectAsync("alice");
        await a.IqAsync("<iq type='get' id='d0' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var load = await Server.RunAsync(() =>
        {
            Server.Server.Modules.RegisterNative("extra", () => new FeatureModule());
            return Server.Server.Modules.LoadAsync(Server.Host, "extra");
        });
        Assert.Null(await load);
        var reply = await a.IqAsync("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        Assert.Contains("urn:example:extra", Features(reply));
        Assert.Contains(reply.Element("query")!.Elements("identity"), i => i.GetAttribute("category") == "pubsub");
        await Server.RunAsync(() => Server.Server.Modules.Unload(Server.Host, "extra"));
        reply = await a.IqAsync("<iq type='get' id='d2' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        Assert.DoesNotContain("urn:example:extra", Features(reply));
    }

    [Fact]
    public async Task HostDiscoInfo_UnknownNode_GetsItemNotFound()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='d3' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>");
        Assert.Equal("item-not-found", Condition(reply));
    }

    [Fact]
    public async Task HostDiscoInfo_NodeHandledByEvent()
    {
        var a = await Server.ConnectAsync("alice");
        await Server.RunAsync(() => Server.Host.Events.Hook("host-disco-info-node", e =>
        {
            if (e["node"] as string == "commands") e["exists"] = true;
            return null;
        }));
        var reply = await a.IqAsync("<iq type='get' id='d4' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='commands'/></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Equal("commands", reply.Element("query")!.GetAttribute("node"));
    }

    [Fact]
    public async Task HostDiscoItems_ReturnsEmptyList()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='d5' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Empty(reply.Element("query", Namespaces.DiscoItems)!.Elements());
    }

    [Fact]
    public async Task AccountDiscoInfo_OnOwnAccount_ReturnsRegisteredIdentity_AndFiresEvent()
    {
        var a = await Server.ConnectAsync("alice");
        await Server.RunAsync(() => Server.Host.Events.Hook("account-disco-info", e =>
        {
            ((StanzaBuilder)e["reply"]!).Cursor.AddChild("feature").SetAttribute("var", "urn:xmpp:mam:2");
            return null;
        }));
        var reply = await a.IqAsync("<iq type='get' id='d6'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        Assert.Equal("alice@localhost", reply.GetAttribute("from"));
        var identity = Assert.Single(reply.Element("query")!.Elements("identity"));
        Assert.Equal("account", identity.GetAttribute("category"));
        Assert.Equal("registered", identity.GetAttribute("type"));
        Assert.Contains("urn:xmpp:mam:2", Features(reply));
    }

    [Fact]
    public async Task AccountDiscoInfo_FromStranger_GetsServiceUnavailable()
    {
        var a = await Server.ConnectAsync("alice");
        await Server.ConnectAsync("bob");
        var reply = await a.IqAsync("<iq type='get' id='d7' to='bob@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        Assert.Equal("service-unavailable", Condition(reply));
    }

    [Fact]
    public void CapsHash_MatchesXep0115Example()
    {
        // XEP-0115 §5.2 simple generation example.
        var info = TestXml.Parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
            + "<identity category='client' name='Exodus 0.9.1' type='pc'/>"
            + "<feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/disco#info'/>"
            + "<feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/></query>");
        Assert.Equal("QgayPKawpkPSDYmwT/WM94uAlu0=", CapsHash.Compute(info));
    }

    private sealed class FeatureModule : INativeModule
    {
        public string Name => "extra";

        public void Load(ModuleContext module)
        {
            module.AddFeature("urn:example:extra");
            module.AddIdentity("pubsub", "pep");
        }
    }
}
