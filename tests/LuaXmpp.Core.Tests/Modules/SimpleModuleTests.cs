using LuaXmpp.Tests.Modules.TestDoubles;

namespace LuaXmpp.Tests.Modules;

public sealed class SimpleModuleTests : ServerTest
{
    [Fact]
    public async Task Ping_ToHost_GetsEmptyResult()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Equal("localhost", reply.GetAttribute("from"));
        Assert.Null(reply.FirstElement());
    }

    [Fact]
    public async Task Ping_ToOwnAccount_GetsResult()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
    }

    [Fact]
    public async Task Time_ReturnsUtcNow()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='t1' to='localhost'><time xmlns='urn:xmpp:time'/></iq>");
        var time = reply.Element("time", "urn:xmpp:time")!;
        Assert.Equal("+00:00", time.ChildText("tzo"));
        Assert.Equal("2024-05-01T12:00:00Z", time.ChildText("utc"));
    }

    [Fact]
    public async Task Version_ReturnsLuaXmpp()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>");
        var query = reply.Element("query", "jabber:iq:version")!;
        Assert.Equal("LuaXmpp", query.ChildText("name"));
        Assert.Equal(Server.Server.Version, query.ChildText("version"));
        Assert.NotNull(query.ChildText("os"));
    }

    [Fact]
    public async Task Uptime_ReturnsSecondsSinceStart()
    {
        var a = await Server.ConnectAsync("alice");
        Server.Time.Now = Server.Time.Now.AddSeconds(90);
        var reply = await a.IqAsync("<iq type='get' id='u1' to='localhost'><query xmlns='jabber:iq:last'/></iq>");
        Assert.Equal("90", reply.Element("query", "jabber:iq:last")!.GetAttribute("seconds"));
    }
}
