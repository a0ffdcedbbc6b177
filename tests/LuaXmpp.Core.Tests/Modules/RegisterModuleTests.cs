using LuaXmpp.Events;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules;

public sealed class RegisterModuleTests : ServerTest
{
    protected override Dictionary<string, object?> Options => new()
    {
        ["allow_registration"] = true,
        ["min_seconds_between_registrations"] = 300L,
    };

    private const string RegisterAlice =
        "<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>Alice</username><password>pw1</password></query></iq>";

    private async Task<XmlElement> StreamFeaturesAsync(TestClient client) => await Server.RunAsync(() =>
    {
        var features = new XmlElement("features", Namespaces.Streams);
        var e = new EventData(client.Session);
        e["features"] = features;
        Server.Host.Events.Fire("stream-features", e);
        return features;
    });

    [Fact]
    public async Task StreamFeatures_OfferRegistration_BeforeAuth_AndRosterVersioningAfter()
    {
        var unauthed = await Server.ConnectUnauthenticatedAsync();
        var before = await StreamFeaturesAsync(unauthed);
        Assert.NotNull(before.Element("register", Namespaces.RegisterFeature));
        Assert.Null(before.Element("ver", Namespaces.RosterVersioning));

        var a = await Server.ConnectAsync("alice");
        var after = await StreamFeaturesAsync(a);
        Assert.Null(after.Element("register", Namespaces.RegisterFeature));
        Assert.NotNull(after.Element("ver", Namespaces.RosterVersioning));
        Assert.NotNull(after.Element("sub", Namespaces.PresenceSubscriptionPreApproval));
        Assert.NotNull(after.Element("c", "http://jabber.org/protocol/caps")?.GetAttribute("ver"));
    }

    [Fact]
    public async Task StreamFeatures_HideRegistration_OnInsecureStream()
    {
        var insecure = await Server.ConnectUnauthenticatedAsync(secure: false);
        Assert.Null((await StreamFeaturesAsync(insecure)).Element("register", Namespaces.RegisterFeature));
    }

    [Fact]
    public async Task RegistrationForm_IsReturned_BeforeAuth()
    {
        var c = await Server.ConnectUnauthenticatedAsync();
        var reply = await c.IqAsync("<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>");
        var query = reply.Element("query", Namespaces.Register)!;
        Assert.NotNull(query.Element("username"));
        Assert.NotNull(query.Element("password"));
        var form = query.Element("x", Namespaces.DataForms)!;
        Assert.Contains(form.Elements("field"), f => f.GetAttribute("var") == "FORM_TYPE");
    }

    [Fact]
    public async Task Registration_CreatesAccount_WithPreparedUsername()
    {
        var c = await Server.ConnectUnauthenticatedAsync();
        var reply = await c.IqAsync(RegisterAlice);
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.True(await Server.Auth.TestPasswordAsync("alice", "pw1"));
        Assert.NotNull(await Server.Storage.OpenKeyValue("localhost", "account_details").GetAsync("alice"));
    }

    [Fact]
    public async Task Registration_OfExistingUser_GetsConflict()
    {
        await Server.Auth.CreateUserAsync("alice", "old");
        var c = await Server.ConnectUnauthenticatedAsync();
        Assert.Equal("conflict", Condition(await c.IqAsync(RegisterAlice)));
        Assert.True(await Server.Auth.TestPasswordAsync("alice", "old"));
    }

    [Fact]
    public async Task Registration_WithoutPassword_GetsNotAcceptable()
    {
        var c = await Server.ConnectUnauthenticatedAsync();
        var reply = await c.IqAsync("<iq type='set' id='r2'><query xmlns='jabber:iq:register'><username>bob</username></query></iq>");
        Assert.Equal("not-acceptable", Condition(reply));
        Assert.Empty(await Server.Auth.UsersAsync().ToListAsync());
    }

    [Fact]
    public async Task Registration_IsThrottledPerAddress()
    {
        var first = await Server.ConnectUnauthenticatedAsync(ip: "10.0.0.1");
        Assert.Equal("result", (await first.IqAsync(RegisterAlice)).GetAttribute("type"));
        var second = await Server.ConnectUnauthenticatedAsync(ip: "10.0.0.1");
        var reply = await second.IqAsync("<iq type='set' id='r3'><query xmlns='jabber:iq:register'><username>bob</username><password>x</password></query></iq>");
        Assert.Equal("policy-violation", Condition(reply));
        Server.Time.Now = Server.Time.Now.AddMinutes(6);
        reply = await second.IqAsync("<iq type='set' id='r4'><query xmlns='jabber:iq:register'><username>bob</username><password>x</password></query></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
    }

    [Fact]
    public async Task Registration_CanBeVetoed_ByUserRegisteringHandler()
    {
        await Server.RunAsync(() => Server.Host.Events.Hook("user-registering", e =>
        {
            e["allowed"] = false;
            e["error"] = StanzaError.Forbidden("No");
            return null;
        }, 10));
        var c = await Server.ConnectUnauthenticatedAsync(ip: "10.0.0.2");
        Assert.Equal("forbidden", Condition(await c.IqAsync(RegisterAlice)));
    }

    [Fact]
    public async Task Registration_AfterAuth_ReturnsRegisteredForm()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='g1'><query xmlns='jabber:iq:register'/></iq>");
        var query = reply.Element("query", Namespaces.Register)!;
        Assert.NotNull(query.Element("registered"));
        Assert.Equal("alice", query.ChildText("username"));
    }

    [Fact]
    public async Task PasswordChange_UpdatesAuth()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='c1'><query xmlns='jabber:iq:register'><username>alice</username><password>new</password></query></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.True(await Server.Auth.TestPasswordAsync("alice", "new"));
    }

    [Fact]
    public async Task PasswordChange_ForOtherUser_GetsBadRequest()
    {
        var a = await Server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='c2' to='localhost'><query xmlns='jabber:iq:register'><username>bob</username><password>new</password></query></iq>");
        Assert.Equal("bad-request", Condition(reply));
    }

    [Fact]
    public async Task Remove_DeletesAccount_RepliesThenCloses()
    {
        var a = await Server.ConnectAsync("alice");
        await a.IqAsync("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost'/></query></iq>");
        var reply = await a.IqAsync("<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.False(await Server.Auth.UserExistsAsync("alice"));
        Assert.Null(await Server.RosterAsync("alice"));
        Assert.True(a.Connection.Closed);
        Assert.Equal(StreamErrorCondition.NotAuthorized, a.Connection.CloseError);
    }

    [Fact]
    public async Task Registration_OnAuthenticatedStream_IsRefusedInBand()
    {
        var a = await Server.ConnectAsync("alice", bind: false);
        var reply = await a.IqAsync(RegisterAlice);
        Assert.Equal("service-unavailable", Condition(reply));
    }
}
