using LuaXmpp.Events;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Routing;

public sealed class StanzaRouterTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string? Condition(XmlElement reply) =>
        reply.Element("error")?.Elements().FirstOrDefault(e => e.Namespace == Namespaces.Stanzas)?.Name;

    [Fact]
    public async Task Process_AnswersBadRequest_WhenIqHasNoId()
    {
        var a = await _server.ConnectAsync("alice");
        await a.SendAsync("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
        var reply = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.Equal("bad-request", Condition(reply));
    }

    [Theory]
    [InlineData("<iq type='bogus' id='1'><ping xmlns='urn:xmpp:ping'/></iq>")]
    [InlineData("<iq type='get' id='1'/>")]
    [InlineData("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>")]
    public async Task Process_AnswersBadRequest_WhenIqIsInvalid(string xml)
    {
        var a = await _server.ConnectAsync("alice");
        var reply = await a.IqAsync(xml);
        Assert.Equal("bad-request", Condition(reply));
    }

    [Fact]
    public async Task Process_AnswersServiceUnavailable_WhenIqNamespaceUnknown()
    {
        var a = await _server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:unknown'/></iq>");
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.Equal("service-unavailable", Condition(reply));
        Assert.Equal(a.FullJid, reply.GetAttribute("to"));
        Assert.Equal("localhost", reply.GetAttribute("from"));
    }

    [Fact]
    public async Task Process_AnswersServiceUnavailable_WhenIqToOwnAccountUnknown()
    {
        var a = await _server.ConnectAsync("alice");
        var reply = await a.IqAsync("<iq type='set' id='u2'><query xmlns='urn:example:unknown'/></iq>");
        Assert.Equal("service-unavailable", Condition(reply));
    }

    [Fact]
    public async Task Process_AnswersJidMalformed_WhenToIsInvalid()
    {
        var a = await _server.ConnectAsync("alice");
        await a.SendAsync("<message to='@bad' type='chat'><body>x</body></message>");
        var reply = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("jid-malformed", Condition(reply));
    }

    [Fact]
    public async Task Process_StampsFrom_WithSendersFullJid()
    {
        var a = await _server.ConnectAsync("alice");
        var b = await _server.ConnectAsync("bob");
        await a.SendAsync($"<message to='{b.FullJid}' from='mallory@localhost/x' type='chat'><body>hi</body></message>");
        var got = Assert.Single(await b.ReceivedAsync());
        Assert.Equal(a.FullJid, got.GetAttribute("from"));
    }

    [Fact]
    public async Task Process_NormalizesTo_BeforeDelivery()
    {
        var a = await _server.ConnectAsync("alice");
        var b = await _server.ConnectAsync("bob");
        await a.SendAsync("<message to='BOB@LocalHost/res' type='chat'><body>hi</body></message>");
        var got = Assert.Single(await b.ReceivedAsync());
        Assert.Equal("bob@localhost/res", got.GetAttribute("to"));
    }

    [Fact]
    public async Task Process_AnswersRemoteServerNotFound_WhenDomainIsNotLocal()
    {
        var a = await _server.ConnectAsync("alice");
        await a.SendAsync("<message to='someone@example.org' type='chat' id='r1'><body>hi</body></message>");
        var reply = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.Equal("remote-server-not-found", Condition(reply));
        Assert.Equal("someone@example.org", reply.GetAttribute("from"));
    }

    [Fact]
    public async Task Process_ClosesStream_WhenNonzaUnhandled()
    {
        var a = await _server.ConnectAsync("alice");
        await a.SendAsync("<foo xmlns='urn:example:nonza'/>");
        Assert.True(a.Connection.Closed);
        Assert.Equal(StreamErrorCondition.UnsupportedStanzaType, a.Connection.CloseError);
    }

    [Fact]
    public async Task Process_FiresStanzaEvent_ForNonza()
    {
        var a = await _server.ConnectAsync("alice");
        EventData? seen = null;
        await _server.RunAsync(() => _server.Host.Events.Hook("stanza/urn:example:nonza:foo", e => seen = e));
        await a.SendAsync("<foo xmlns='urn:example:nonza'/>");
        Assert.NotNull(seen);
        Assert.Same(a.Session, seen!.Origin);
        Assert.False(a.Connection.Closed);
    }

    [Fact]
    public async Task Process_FiresStanzaIqEvent_BeforeAuthentication()
    {
        var c = await _server.ConnectUnauthenticatedAsync();
        string? seen = null;
        await _server.RunAsync(() => _server.Host.Events.Hook("stanza/iq/urn:example:pre:query", e => seen = e.Stanza!.GetAttribute("id")));
        await c.SendAsync("<iq type='get' id='pre1'><query xmlns='urn:example:pre'/></iq>");
        Assert.Equal("pre1", seen);
    }

    [Fact]
    public async Task Process_ClosesWithNotAuthorized_WhenStanzaBeforeBindUnhandled()
    {
        // RFC 6120 §7.1: nothing is processed before binding; the stream ends with <not-authorized/>.
        var c = await _server.ConnectUnauthenticatedAsync();
        await c.SendAsync("<iq type='get' id='pre2'><query xmlns='urn:example:pre'/></iq>");
        Assert.Empty(await c.ReceivedAsync());
        Assert.Equal(StreamErrorCondition.NotAuthorized, c.Connection.CloseError);
    }

    [Fact]
    public async Task Process_FiresPreEvent_AndStopsWhenHandled()
    {
        var a = await _server.ConnectAsync("alice");
        var b = await _server.ConnectAsync("bob");
        bool? toSelf = null;
        await _server.RunAsync(() => _server.Host.Events.Hook("pre-message/full", e => true));
        await _server.RunAsync(() => _server.Host.Events.Hook("message/bare", e => { toSelf = e["to_self"] as bool?; return true; }, 10));
        await a.SendAsync($"<message to='{b.FullJid}' type='chat'><body>blocked</body></message>");
        Assert.Empty(await b.ReceivedAsync());
        await a.SendAsync("<message type='chat'><body>to me</body></message>");
        Assert.True(toSelf);
    }

    [Fact]
    public async Task Process_DeliversIq_ToFullJid_AndRoutesResultBack()
    {
        var a = await _server.ConnectAsync("alice");
        var b = await _server.ConnectAsync("bob");
        await a.SendAsync($"<iq type='get' id='v1' to='{b.FullJid}'><query xmlns='jabber:iq:version'/></iq>");
        var request = Assert.Single(await b.ReceivedAsync());
        Assert.Equal(a.FullJid, request.GetAttribute("from"));
        await b.SendAsync($"<iq type='result' id='v1' to='{a.FullJid}'/>");
        var result = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("result", result.GetAttribute("type"));
        Assert.Equal(b.FullJid, result.GetAttribute("from"));
    }

    [Fact]
    public async Task Process_AnswersServiceUnavailable_WhenIqToUnboundResource()
    {
        var a = await _server.ConnectAsync("alice");
        await _server.ConnectAsync("bob");
        var reply = await a.IqAsync("<iq type='get' id='v2' to='bob@localhost/gone'><query xmlns='jabber:iq:version'/></iq>");
        Assert.Equal("service-unavailable", Condition(reply));
    }

    [Fact]
    public async Task Route_DeliversServerOriginatedStanza()
    {
        var a = await _server.ConnectAsync("alice");
        await _server.RunAsync(() => _server.Server.Router.Route(_server.Host.Session,
            TestXml.Parse($"<message from='localhost' to='{a.FullJid}' type='headline'><body>notice</body></message>")));
        var got = Assert.Single(await a.ReceivedAsync());
        Assert.Equal("notice", got.ChildText("body"));
    }

    [Fact]
    public async Task Process_DropsUnhandledErrorWithoutPayload()
    {
        var a = await _server.ConnectAsync("alice");
        await a.SendAsync("<message type='error' to='localhost'/>");
        Assert.Empty(await a.ReceivedAsync());
        Assert.False(a.Connection.Closed);
    }
}
