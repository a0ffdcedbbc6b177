using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules;

public sealed class RosterModuleTests : ServerTest
{
    [Fact]
    public async Task RosterGet_ReturnsEmptyRosterWithVersion_ForNewUser()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await GetRosterAsync(a);
        Assert.Equal("result", reply.GetAttribute("type"));
        var query = reply.Element("query", Namespaces.Roster)!;
        Assert.Empty(query.Elements());
        Assert.Equal("1", query.GetAttribute("ver"));
    }

    [Fact]
    public async Task RosterSet_AddsItem_AndPushesToInterestedResources()
    {
        var a = await Server.ConnectAsync("alice", "one");
        var two = await Server.ConnectAsync("alice", "two");
        var notInterested = await Server.ConnectAsync("alice", "three");
        await GetRosterAsync(a);
        await GetRosterAsync(two);
        await a.SendAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='Bob@localhost' name='Bob'><group>Friends</group></item></query></iq>");
        var received = await a.ReceivedAsync();
        Assert.Contains(received, e => e.GetAttribute("id") == "s1" && e.GetAttribute("type") == "result");
        var push = Assert.Single(received, e => e.GetAttribute("type") == "set");
        var item = push.Element("query")!.Element("item")!;
        Assert.Equal("bob@localhost", item.GetAttribute("jid"));
        Assert.Equal("none", item.GetAttribute("subscription"));
        Assert.Equal("Bob", item.GetAttribute("name"));
        Assert.Equal("Friends", item.ChildText("group"));
        Assert.Single(await two.ReceivedAsync(), e => e.GetAttribute("type") == "set");
        Assert.Empty(await notInterested.ReceivedAsync());
    }

    [Fact]
    public async Task RosterSet_IsStoredInProsodyFormat()
    {
        var a = await Server.ConnectAsync("alice");
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob'><group>Friends</group></item></query></iq>");
        var stored = (await Server.RosterAsync("alice"))!;
        var item = Assert.IsType<DataTable>(stored["bob@localhost"]);
        Assert.Equal("none", item["subscription"]);
        Assert.Equal("Bob", item["name"]);
        Assert.Equal(true, item.GetTable("groups")!["Friends"]);
        var meta = Assert.IsType<DataTable>(stored[false]);
        // As Prosody: the version counts saves from nil, so the first change is version 1.
        Assert.Equal(1L, meta["version"]);
        Assert.IsType<DataTable>(meta["pending"]);
    }

    [Fact]
    public async Task RosterGet_LoadsProsodyStoredRoster()
    {
        await Server.Storage.OpenKeyValue("localhost", "roster").SetAsync("alice", new DataTable
        {
            ["bob@localhost"] = new DataTable { ["subscription"] = "both", ["name"] = "Bob", ["groups"] = new DataTable { ["Work"] = true } },
            [false] = new DataTable { ["version"] = 7L, ["pending"] = new DataTable() },
        });
        var a = await Server.ConnectAsync("alice");
        var query = (await GetRosterAsync(a)).Element("query")!;
        Assert.Equal("7", query.GetAttribute("ver"));
        var item = Assert.Single(query.Elements());
        Assert.Equal("both", item.GetAttribute("subscription"));
        Assert.Equal("Work", item.ChildText("group"));
    }

    [Fact]
    public async Task RosterGet_ReturnsEmptyResult_WhenVersionCurrent()
    {
        var a = await Server.ConnectAsync("alice");
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost'/></query></iq>");
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='B'/></query></iq>");
        var reply = await GetRosterAsync(a, "2");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Null(reply.FirstElement());
        var stale = await GetRosterAsync(a, "1");
        Assert.Single(stale.Element("query")!.Elements());
        Assert.Equal("2", stale.Element("query")!.GetAttribute("ver"));
    }

    [Fact]
    public async Task RosterSet_RemovesItem_WithRemovePush()
    {
        var a = await Server.ConnectAsync("alice");
        await GetRosterAsync(a);
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost'/></query></iq>");
        await a.SendAsync("<iq type='set' id='s2'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>");
        var received = await a.ReceivedAsync();
        Assert.Contains(received, e => e.GetAttribute("id") == "s2" && e.GetAttribute("type") == "result");
        var push = Assert.Single(received, e => e.GetAttribute("type") == "set");
        Assert.Equal("remove", push.Element("query")!.Element("item")!.GetAttribute("subscription"));
        Assert.False((await Server.RosterAsync("alice"))!.ContainsKey("bob@localhost"));
    }

    [Fact]
    public async Task RosterSet_RemoveUnknown_GetsItemNotFound()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='s2'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>");
        Assert.Equal("item-not-found", Condition(reply));
    }

    [Fact]
    public async Task RosterSet_Self_GetsNotAllowed()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='s3'><query xmlns='jabber:iq:roster'><item jid='alice@localhost'/></query></iq>");
        Assert.Equal("not-allowed", Condition(reply));
    }

    [Fact]
    public async Task RosterSet_TwoItems_GetsBadRequest()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='s4'><query xmlns='jabber:iq:roster'><item jid='b@localhost'/><item jid='c@localhost'/></query></iq>");
        Assert.Equal("bad-request", Condition(reply));
    }

    [Fact]
    public async Task RosterSet_KeepsSubscriptionState_WhenClientSendsOne()
    {
        var a = await Server.ConnectAsync("alice");
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='both'/></query></iq>");
        var item = (await GetRosterAsync(a)).Element("query")!.Element("item")!;
        Assert.Equal("none", item.GetAttribute("subscription"));
    }
}
