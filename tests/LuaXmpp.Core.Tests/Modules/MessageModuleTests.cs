using LuaXmpp.Tests.Modules.TestDoubles;

namespace LuaXmpp.Tests.Modules;

public sealed class MessageModuleTests : ServerTest
{
    [Fact]
    public async Task Message_IsDelivered_ToFullJid()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob", "phone");
        var other = await Server.ConnectAsync("bob", "desk");
        await a.SendAsync("<message to='bob@localhost/phone' type='chat'><body>hi</body></message>");
        Assert.Single(await b.ReceivedAsync());
        Assert.Empty(await other.ReceivedAsync());
    }

    [Fact]
    public async Task Message_ToBareJid_GoesToHighestPriorityResource()
    {
        var a = await Server.ConnectAsync("alice");
        var high = await Server.ConnectAsync("bob", "high");
        var low = await Server.ConnectAsync("bob", "low");
        await AvailableAsync(high, 5);
        await AvailableAsync(low, 1);
        await high.ReceivedAsync();
        await a.SendAsync("<message to='bob@localhost' type='chat'><body>hi</body></message>");
        Assert.Single(await high.ReceivedAsync());
        Assert.Empty(await low.ReceivedAsync());
    }

    [Fact]
    public async Task Message_ToBareJid_GoesToAllResources_WhenPrioritiesTie()
    {
        var a = await Server.ConnectAsync("alice");
        var one = await Server.ConnectAsync("bob", "one");
        var two = await Server.ConnectAsync("bob", "two");
        await AvailableAsync(one, 3);
        await AvailableAsync(two, 3);
        await one.ReceivedAsync();
        await a.SendAsync("<message to='bob@localhost' type='chat'><body>hi</body></message>");
        Assert.Single(await one.ReceivedAsync());
        Assert.Single(await two.ReceivedAsync());
    }

    [Fact]
    public async Task Message_ToBareJid_IsStoredOffline_WhenOnlyNegativePriority()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(b, -1);
        await a.SendAsync("<message to='bob@localhost' type='chat'><body>hi</body></message>");
        Assert.Empty(await b.ReceivedAsync());
        Assert.Empty(await a.ReceivedAsync());
        Assert.Single(await Server.ArchiveAsync("offline", "bob"));
    }

    [Fact]
    public async Task Message_ToUnavailableResource_IsTreatedAsBare()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob", "desk");
        await AvailableAsync(b);
        await a.SendAsync("<message to='bob@localhost/gone' type='chat'><body>hi</body></message>");
        var got = Assert.Single(await b.ReceivedAsync());
        Assert.Equal("bob@localhost/gone", got.GetAttribute("to"));
    }

    [Fact]
    public async Task Message_ToUnknownUser_GetsServiceUnavailable()
    {
        var a = await Server.ConnectAsync("alice");
        await a.SendAsync("<message to='nobody@localhost' type='chat' id='m1'><body>hi</body></message>");
        var reply = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.Equal("service-unavailable", Condition(reply));
        Assert.Null(reply.Element("body"));
    }

    [Fact]
    public async Task Message_ToOfflineUser_IsStored()
    {
        var a = await Server.ConnectAsync("alice");
        await Server.Auth.CreateUserAsync("carol", "pw");
        await a.SendAsync("<message to='carol@localhost' type='chat'><body>later</body></message>");
        Assert.Empty(await a.ReceivedAsync());
        // Stored for carol, nobody else: the sender has nothing.
        Assert.Empty(await Server.ArchiveAsync("offline", "alice"));
        var item = Assert.Single(await Server.ArchiveAsync("offline", "carol"));
        // mod_offline appends with = ""; the storage drivers read an empty "with" back as null.
        Assert.Null(item.With);
        Assert.Equal("later", item.Value.ChildText("body"));
    }

    [Fact]
    public async Task Headline_IsDropped_WhenNoResourceAvailable()
    {
        var a = await Server.ConnectAsync("alice");
        await Server.Auth.CreateUserAsync("carol", "pw");
        await a.SendAsync("<message to='carol@localhost' type='headline'><body>news</body></message>");
        Assert.Empty(await a.ReceivedAsync());
        Assert.Empty(await Server.ArchiveAsync("offline", "carol"));
    }

    [Fact]
    public async Task Headline_GoesToEveryNonNegativeResource()
    {
        var a = await Server.ConnectAsync("alice");
        var one = await Server.ConnectAsync("bob", "one");
        var two = await Server.ConnectAsync("bob", "two");
        await AvailableAsync(one, 5);
        await AvailableAsync(two, 0);
        await one.ReceivedAsync();
        await a.SendAsync("<message to='bob@localhost' type='headline'><body>news</body></message>");
        Assert.Single(await one.ReceivedAsync());
        Assert.Single(await two.ReceivedAsync());
    }

    [Fact]
    public async Task Groupchat_ToBareJid_GetsServiceUnavailable()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(b);
        await a.SendAsync("<message to='bob@localhost' type='groupchat'><body>x</body></message>");
        Assert.Equal("service-unavailable", Condition(Assert.Single(await a.ReceivedAsync())));
        Assert.Empty(await b.ReceivedAsync());
    }

    [Fact]
    public async Task Error_ToBareJid_IsDiscarded()
    {
        var a = await Server.ConnectAsync("alice");
        var b = await Server.ConnectAsync("bob");
        await AvailableAsync(b);
        await a.SendAsync("<message to='bob@localhost' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        Assert.Empty(await b.ReceivedAsync());
        Assert.Empty(await a.ReceivedAsync());
    }
}
