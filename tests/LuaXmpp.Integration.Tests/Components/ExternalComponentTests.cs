using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Components;

/// <summary>
/// XEP-0114 external components against the real server: a raw-socket component connects to
/// component_ports with its secret, receives what users send to its domain and answers them; a
/// wrong secret, an unknown domain, a forged 'from' and a second connection are refused with the
/// protocol's stream errors while users and the first component carry on.
/// </summary>
public sealed class ExternalComponentTests(ExternalComponentTests.Server fixture) : IClassFixture<ExternalComponentTests.Server>
{
    private const string Domain = "gw.localhost";
    private const string Secret = "component-secret-42";

    public sealed class Server : SharedServer
    {
        public int ComponentPort { get; } = FreePorts.Take(1)[0];

        protected override void Configure(ServerConfig config)
        {
            config.Set("component_ports", $"{{ {ComponentPort} }}");
            config.Set("component_interfaces", ServerConfig.LuaList("127.0.0.1"));
            config.ExtraSections.Add($"Component \"{Domain}\"\n\tcomponent_secret = \"{Secret}\"");
            config.ExtraSections.Add("Component \"nosecret.localhost\"");
        }
    }

    [Fact]
    public async Task A_component_with_the_secret_receives_its_domains_messages_and_replies()
    {
        await using var component = await RawComponent.ConnectAsync(fixture.ComponentPort, Domain);
        Assert.Equal("handshake", (await component.HandshakeAsync(Secret)).Name.LocalName);

        await using var user = await fixture.LoginNewAsync("gwuser");
        await user.SendAsync($"<message to='bot@{Domain}' type='chat' id='m1'><body>hello gateway</body></message>");
        var received = await component.WaitForAsync(e => e.Name.LocalName == "message", "the user's message");
        Assert.Equal("jabber:component:accept", received.Name.NamespaceName);
        Assert.Equal(user.Jid, (string?)received.Attribute("from"));
        Assert.Equal("hello gateway", received.Elements().Single(e => e.Name.LocalName == "body").Value);

        await component.SendAsync($"<message from='bot@{Domain}' to='{user.Jid}' type='chat' id='r1'><body>hello user</body></message>");
        var reply = await user.WaitForAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("id") == "r1", "the component's reply");
        Assert.Equal($"bot@{Domain}", (string?)reply.Attribute("from"));
        Assert.Equal(XmppSocketClient.Client + "message", reply.Name);

        // An iq to the domain itself reaches the component too, and its answer comes back.
        await user.SendAsync($"<iq to='{Domain}' type='get' id='q1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var iq = await component.WaitForAsync(e => e.Name.LocalName == "iq", "the disco query");
        await component.SendAsync($"<iq from='{Domain}' to='{user.Jid}' type='result' id='{(string?)iq.Attribute("id")}'/>");
        var result = await user.WaitForAsync(e => (string?)e.Attribute("id") == "q1", "the disco result");
        Assert.Equal("result", (string?)result.Attribute("type"));
    }

    [Fact]
    public async Task A_wrong_secret_is_not_authorized()
    {
        await using var component = await RawComponent.ConnectAsync(fixture.ComponentPort, Domain);
        var answer = await component.HandshakeAsync("not-the-secret");
        Assert.Equal("not-authorized", StreamErrorCondition(answer));
        Assert.True(await component.ClosedAsync());
        await fixture.Bystanders.ExchangeOnceAsync();
        Assert.Empty(fixture.Bystanders.Problems);
    }

    [Theory]
    [InlineData("elsewhere.localhost")]
    [InlineData("localhost")]
    [InlineData("nosecret.localhost")]
    public async Task A_domain_that_is_no_external_component_is_host_unknown(string domain)
    {
        await using var component = await RawComponent.ConnectAsync(fixture.ComponentPort, domain);
        var error = await component.WaitForAsync(e => e.Name.LocalName == "error", "a stream error");
        Assert.Equal("host-unknown", StreamErrorCondition(error));
    }

    [Fact]
    public async Task A_forged_from_ends_the_component_stream_with_invalid_from()
    {
        await using var component = await RawComponent.ConnectAsync(fixture.ComponentPort, Domain);
        await component.HandshakeAsync(Secret);
        await using var user = await fixture.LoginNewAsync("victim");
        await component.SendAsync($"<message from='admin@localhost' to='{user.Jid}' id='forged'><body>trust me</body></message>");
        var error = await component.WaitForAsync(e => e.Name.LocalName == "error", "a stream error");
        Assert.Equal("invalid-from", StreamErrorCondition(error));
        Assert.True(await user.PingAsync("localhost", "after-forgery"));
        var (_, elements) = await user.ReadToEndAsync(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(elements, e => (string?)e.Attribute("id") == "forged");
    }

    [Fact]
    public async Task While_no_component_is_connected_requests_bounce_with_remote_server_timeout()
    {
        await using var user = await fixture.LoginNewAsync("lonely");
        await user.SendAsync("<iq to='nobody@nosecret.localhost' type='get' id='q2'><ping xmlns='urn:xmpp:ping'/></iq>");
        var bounce = await user.WaitForAsync(e => (string?)e.Attribute("id") == "q2", "the bounce");
        Assert.Equal("error", (string?)bounce.Attribute("type"));
        Assert.Equal("remote-server-timeout", XmppSocketClient.ErrorCondition(bounce));
    }

    [Fact]
    public async Task A_second_connection_for_a_connected_domain_is_refused_and_the_first_keeps_working()
    {
        await using var first = await RawComponent.ConnectAsync(fixture.ComponentPort, Domain);
        await first.HandshakeAsync(Secret);
        await using var second = await RawComponent.ConnectAsync(fixture.ComponentPort, Domain);
        Assert.Equal("conflict", StreamErrorCondition(await second.HandshakeAsync(Secret)));

        await using var user = await fixture.LoginNewAsync("gwuser");
        await user.SendAsync($"<message to='{Domain}' id='m2'><body>still there?</body></message>");
        var received = await first.WaitForAsync(e => e.Name.LocalName == "message", "the message");
        Assert.Equal("m2", (string?)received.Attribute("id"));
    }

    private static string? StreamErrorCondition(XElement error) =>
        error.Name.LocalName == "error" ? error.Elements().FirstOrDefault(e => e.Name.LocalName != "text")?.Name.LocalName : null;

    /// <summary>A component as a gateway writes one: a raw socket speaking jabber:component:accept.</summary>
    private sealed class RawComponent : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly StringBuilder _buffer = new();
        private readonly byte[] _chunk = new byte[65536];
        private string _streamId = "";

        private RawComponent(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public static async Task<RawComponent> ConnectAsync(int port, string domain)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var component = new RawComponent(tcp);
            await component.SendAsync($"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>");
            await component.ReadHeaderAsync();
            return component;
        }

        public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

        private async Task ReadHeaderAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (true)
            {
                var match = Regex.Match(_buffer.ToString(), "<stream:stream[^>]*\\sid=['\"]([^'\"]+)['\"][^>]*>");
                if (match.Success)
                {
                    _streamId = match.Groups[1].Value;
                    _buffer.Remove(0, match.Index + match.Length);
                    return;
                }
                if (!await ReadAsync(deadline.Token)) throw new Xunit.Sdk.XunitException("no stream header: " + _buffer);
            }
        }

        public async Task<XElement> HandshakeAsync(string secret)
        {
            var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(_streamId + secret)));
            await SendAsync($"<handshake>{digest}</handshake>");
            return await WaitForAsync(e => e.Name.LocalName is "handshake" or "error", "the handshake answer");
        }

        /// <summary>Reads depth-1 elements (wrapped in the stream's namespaces) until one matches.</summary>
        public async Task<XElement> WaitForAsync(Func<XElement, bool> match, string what)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (true)
            {
                while (NextElement() is { } element)
                {
                    if (match(element)) return element;
                }
                if (!await ReadAsync(deadline.Token)) throw new Xunit.Sdk.XunitException($"waiting for {what}; have: {_buffer}");
            }
        }

        public async Task<bool> ClosedAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await ReadAsync(deadline.Token)) { }
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        // One complete element at the front of the buffer, parsed in the component stream's
        // namespace context; null when the buffer holds no complete element yet.
        private XElement? NextElement()
        {
            var text = _buffer.ToString().TrimStart();
            if (text.Length == 0 || text.StartsWith("</stream:stream>", StringComparison.Ordinal)) return null;
            for (var end = text.IndexOf('>'); end > 0; end = text.IndexOf('>', end + 1))
            {
                try
                {
                    var wrapped = $"<w xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>{text[..(end + 1)]}</w>";
                    var element = XElement.Parse(wrapped).Elements().Single();
                    _buffer.Clear().Append(text[(end + 1)..]);
                    return element;
                }
                catch (System.Xml.XmlException)
                {
                }
                catch (InvalidOperationException)
                {
                }
            }
            return null;
        }

        private async Task<bool> ReadAsync(CancellationToken cancel)
        {
            try
            {
                var n = await _stream.ReadAsync(_chunk, cancel);
                if (n == 0) return false;
                _buffer.Append(Encoding.UTF8.GetString(_chunk, 0, n));
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
