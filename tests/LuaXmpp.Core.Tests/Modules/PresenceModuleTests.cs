using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules;

public sealed class PresenceModuleTests : ServerTest
{
    private async Task StoreContactAsync(string user, string contact, string subscription, string? ask = null)
    {
        var store = Server.Storage.OpenKeyValue("localhost", "roster");
        var roster = await store.GetAsync(user) ?? new DataTable { [false] = new DataTable { ["version"] = 1L, ["pending"] = new DataTable() } };
        var item = new DataTable { ["subscription"] = subscription, ["groups"] = new DataTable() };
        if (ask is not null) item["ask"] = ask;
        roster[contact] = item;
        await store.SetAsync(user, roster);
    }

    private async Task<DataTable> StoredItemAsync(string user, string contact) =>
        Assert.IsType<DataTable>((await Server.RosterAsync(user))![contact]);

    private static XmlElement PushFor(List<XmlElement> received, string jid) =>
        Assert.Single(received, e => e.Name == "iq" && e.GetAttribute("type") == "set"
            && e.Element("query", Namespaces.Roster)?.Element("item")?.GetAttribute("jid") == jid).Element("query")!.Element("item")!;

    [Fact]
    public async Task Subscription_FullFlow_UpdatesBothRostersAndShowsPresence()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await GetRosterAsync(a);
        await GetRosterAsync(b);
        await AvailableAsync(a);
        await AvailableAsync(b);

        await a.SendAsync("<presence to='bob@localhost' type='subscribe'/>");
        var toAlice = await a.ReceivedAsync();
        var pending = PushFor(toAlice, "bob@localhost");
        Assert.Equal("none", pending.GetAttribute("subscription"));
        Assert.Equal("subscribe", pending.GetAttribute("ask"));
        var request = Assert.Single(await b.ReceivedAsync(), e => e.Name == "presence");
        Assert.Equal("subscribe", request.GetAttribute("type"));
        Assert.Equal("alice@localhost", request.GetAttribute("from"));

        await b.SendAsync("<presence to='alice@localhost' type='subscribed'/>");
        Assert.Equal("from", PushFor(await b.ReceivedAsync(), "alice@localhost").GetAttribute("subscription"));
        toAlice = await a.ReceivedAsync();
        Assert.Equal("to", PushFor(toAlice, "bob@localhost").GetAttribute("subscription"));
        Assert.Null(PushFor(toAlice, "bob@localhost").GetAttribute("ask"));
        Assert.Contains(toAlice, e => e.Name == "presence" && e.GetAttribute("type") == "subscribed" && e.GetAttribute("from") == "bob@localhost");
        Assert.Contains(toAlice, e => e.Name == "presence" && e.GetAttribute("type") is null && e.GetAttribute("from") == b.FullJid);
        Assert.Equal("to", (await StoredItemAsync("alice", "bob@localhost"))["subscription"]);
        Assert.Equal("from", (await StoredItemAsync("bob", "alice@localhost"))["subscription"]);

        // Bob's later presence reaches Alice now that she is subscribed.
        await b.SendAsync("<presence><show>away</show></presence>");
        Assert.Contains(await a.ReceivedAsync(), e => e.Name == "presence" && e.ChildText("show") == "away");

        await a.SendAsync("<presence to='bob@localhost' type='unsubscribe'/>");
        Assert.Equal("none", PushFor(await a.ReceivedAsync(), "bob@localhost").GetAttribute("subscription"));
        var toBob = await b.ReceivedAsync();
        Assert.Contains(toBob, e => e.Name == "presence" && e.GetAttribute("type") == "unsubscribe");
        Assert.Equal("none", PushFor(toBob, "alice@localhost").GetAttribute("subscription"));
    }

    [Fact]
    public async Task Subscribe_ToOfflineUser_IsStoredAndResentOnInitialPresence()
    {
        await Server.Auth.CreateUserAsync("carol", "pw");
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<presence to='carol@localhost' type='subscribe'><status>hi carol</status></presence>");
        var stored = (await Server.RosterAsync("carol"))!;
        var pending = Assert.IsType<DataTable>(Assert.IsType<DataTable>(stored[false])["pending"]);
        Assert.True(pending.ContainsKey("alice@localhost"));

        var c = await Server.ConnectAsync("carol");
        await c.SendAsync("<presence/>");
        var request = Assert.Single(await c.ReceivedAsync(), e => e.GetAttribute("type") == "subscribe");
        Assert.Equal("alice@localhost", request.GetAttribute("from"));
        Assert.Equal("hi carol", request.ChildText("status"));
    }

    [Fact]
    public async Task Subscribe_IsAnsweredAtOnce_WhenPreApproved()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await b.SendAsync("<presence to='alice@localhost' type='subscribed'/>");
        Assert.Equal("true", (await StoredItemAsync("bob", "alice@localhost"))["approved"]);
        await GetRosterAsync(a);
        await a.SendAsync("<presence to='bob@localhost' type='subscribe'/>");
        Assert.Contains(await a.ReceivedAsync(), e => e.GetAttribute("type") == "subscribed" && e.GetAttribute("from") == "bob@localhost");
        Assert.Equal("to", (await StoredItemAsync("alice", "bob@localhost"))["subscription"]);
        Assert.Equal("from", (await StoredItemAsync("bob", "alice@localhost"))["subscription"]);
    }

    [Fact]
    public async Task InitialPresence_IsBroadcastToSubscribers_AndProbesContacts()
    {
        await StoreContactAsync("alice", "bob@localhost", "both");
        await StoreContactAsync("bob", "alice@localhost", "both");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(b, 2);
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<presence><status>here</status></presence>");
        var toAlice = await a.ReceivedAsync();
        // Reflected back, then Bob's current presence as the answer to the probe.
        Assert.Contains(toAlice, e => e.Name == "presence" && e.GetAttribute("from") == a.FullJid && e.ChildText("status") == "here");
        var bobs = Assert.Single(toAlice, e => e.Name == "presence" && e.GetAttribute("from") == b.FullJid);
        Assert.Equal("2", bobs.ChildText("priority"));
        Assert.NotNull(bobs.Element("delay", Namespaces.Delay));
        var toBob = Assert.Single(await b.ReceivedAsync(), e => e.Name == "presence");
        Assert.Equal(a.FullJid, toBob.GetAttribute("from"));
        Assert.Equal("here", toBob.ChildText("status"));
    }

    [Fact]
    public async Task Probe_FromSubscribedContact_GetsUnavailable_WhenUserOffline()
    {
        await StoreContactAsync("alice", "bob@localhost", "to");
        await StoreContactAsync("bob", "alice@localhost", "from");
        await Server.Auth.CreateUserAsync("bob", "pw");
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<presence/>");
        var bobs = Assert.Single(await a.ReceivedAsync(), e => e.GetAttribute("from") == "bob@localhost");
        Assert.Equal("unavailable", bobs.GetAttribute("type"));
    }

    [Fact]
    public async Task Probe_FromUnsubscribedContact_RevealsNothing()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(b);
        await a.SendAsync("<presence to='bob@localhost' type='probe'/>");
        Assert.DoesNotContain(await a.ReceivedAsync(), e => e.GetAttribute("from") == b.FullJid);
        Assert.Empty(await b.ReceivedAsync());
    }

    [Fact]
    public async Task Unavailable_IsBroadcast_WhenSessionCloses()
    {
        await StoreContactAsync("alice", "bob@localhost", "both");
        await StoreContactAsync("bob", "alice@localhost", "both");
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(a);
        await AvailableAsync(b);
        await a.ReceivedAsync();
        await b.DisconnectAsync("connection lost");
        var gone = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("unavailable", gone.GetAttribute("type"));
        Assert.Equal(b.FullJid, gone.GetAttribute("from"));
        Assert.Equal("Disconnected: connection lost", gone.ChildText("status"));
    }

    [Fact]
    public async Task DirectedPresence_IsDelivered_AndRetractedOnClose()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(a);
        await a.SendAsync($"<presence to='{b.FullJid}'><show>chat</show></presence>");
        var got = Assert.Single(await b.ReceivedAsync());
        Assert.Equal("chat", got.ChildText("show"));
        Assert.Contains(b.FullJid, a.Session.Directed);
        await a.DisconnectAsync();
        var gone = Assert.Single(await b.ReceivedAsync());
        Assert.Equal("unavailable", gone.GetAttribute("type"));
    }

    [Fact]
    public async Task OwnResources_SeeEachOthersPresence()
    {
        var one = await Server.ConnectAsync("alice", "one");
        await AvailableAsync(one);
        var two = await Server.ConnectAsync("alice", "two");
        await two.SendAsync("<presence/>");
        Assert.Contains(await two.ReceivedAsync(), e => e.GetAttribute("from") == one.FullJid);
        Assert.Contains(await one.ReceivedAsync(), e => e.GetAttribute("from") == two.FullJid);
    }

    [Fact]
    public async Task SubscribeToHost_IsApprovedByServer()
    {
        var a = await Server.ConnectAsync("alice");
        // The approval goes to resources that fetched the roster, presence to available ones (RFC 6121 §3.1.6).
        await GetRosterAsync(a);
        await AvailableAsync(a);
        await a.SendAsync("<presence to='localhost' type='subscribe'/>");
        var received = await a.ReceivedAsync();
        Assert.Contains(received, e => e.GetAttribute("from") == "localhost" && e.GetAttribute("type") == "subscribed");
        Assert.Contains(received, e => e.GetAttribute("from") == "localhost" && e.GetAttribute("type") is null);
    }

    [Fact]
    public async Task RosterRemove_CancelsSubscriptionsBothWays()
    {
        await StoreContactAsync("alice", "bob@localhost", "both");
        await StoreContactAsync("bob", "alice@localhost", "both");
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await GetRosterAsync(b);
        await a.IqAsync("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>");
        Assert.Equal("none", (await StoredItemAsync("bob", "alice@localhost"))["subscription"]);
        // Two pushes: unsubscribed (both → from), then unsubscribe (from → none).
        var pushes = (await b.ReceivedAsync()).Where(e => e.Name == "iq").ToList();
        Assert.Equal(["from", "none"], pushes.Select(p => p.Element("query")!.Element("item")!.GetAttribute("subscription")));
    }

    [Fact]
    public async Task Priority_IsClampedAndUsedForRouting()
    {
        var a = await Server.ConnectAsync("alice");
        await AvailableAsync(a, 500);
        Assert.Equal(127, a.Session.Priority);
        await a.SendAsync("<presence type='unavailable'/>");
        Assert.Null(a.Session.Priority);
        Assert.False(a.Session.IsAvailable);
    }
}
