using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules;

public sealed class OfflineModuleTests : ServerTest
{
    [Fact]
    public async Task OfflineMessage_IsDeliveredWithDelay_OnNextLogin_AndDeleted()
    {
        await Server.Auth.CreateUserAsync("bob", "pw");
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<message to='bob@localhost' type='chat' id='o1'><body>while you were out</body></message>");
        var sentAt = Server.Time.Now;
        Server.Time.Now = sentAt.AddHours(2);

        var b = await Server.ConnectAsync("bob");
        await b.SendAsync("<presence/>");
        var message = Assert.Single(await b.ReceivedAsync(), e => e.Name == "message");
        Assert.Equal("while you were out", message.ChildText("body"));
        Assert.Equal(a.FullJid, message.GetAttribute("from"));
        var delay = message.Element("delay", Namespaces.Delay)!;
        Assert.Equal("localhost", delay.GetAttribute("from"));
        Assert.Equal("2024-05-01T12:00:00Z", delay.GetAttribute("stamp"));
        Assert.Empty(await Server.ArchiveAsync("offline", "bob"));
    }

    [Fact]
    public async Task OfflineMessages_AreKept_WhenInitialPresenceIsNegative()
    {
        await Server.Auth.CreateUserAsync("bob", "pw");
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<message to='bob@localhost' type='chat'><body>one</body></message>");
        var b = await Server.ConnectAsync("bob");
        await b.SendAsync("<presence><priority>-1</priority></presence>");
        Assert.DoesNotContain(await b.ReceivedAsync(), e => e.Name == "message");
        Assert.Single(await Server.ArchiveAsync("offline", "bob"));
    }

    [Fact]
    public async Task OfflineModule_AdvertisesMsgOffline()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        Assert.Contains(reply.Element("query")!.Elements("feature"), f => f.GetAttribute("var") == "msgoffline");
    }
}
