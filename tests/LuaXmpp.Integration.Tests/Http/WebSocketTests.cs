using System.Net.WebSockets;
using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// XMPP over WebSocket (RFC 7395) against the real server: a client on /xmpp-websocket opens the
/// stream with &lt;open/&gt;, authenticates, binds, talks with a TCP client, enables XEP-0198 and
/// resumes on a new WebSocket; framing mistakes are refused without harm to others.
/// </summary>
public sealed class WebSocketTests(WebSocketTests.Server fixture) : IClassFixture<WebSocketTests.Server>
{
    private const string Framing = "urn:ietf:params:xml:ns:xmpp-framing";

    public sealed class Server : SharedServer
    {
        public int HttpPort { get; } = FreePorts.Take(1)[0];

        protected override void Configure(ServerConfig config)
        {
            config.Set("http_ports", $"{{ {HttpPort} }}");
            config.Set("https_ports", "{ }");
            config.Set("consider_websocket_secure", "true");
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "smacks", "websocket"));
        }
    }

    private Uri Endpoint => new($"ws://127.0.0.1:{fixture.HttpPort}/xmpp-websocket");

    [Fact]
    public async Task A_websocket_client_logs_in_and_chats_with_a_tcp_client()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("wsuser");
        await fixture.Server.RegisterAsync(user, "ws-secret");
        await using var ws = await WsClient.ConnectAsync(Endpoint);
        var features = await ws.OpenAsync("localhost");
        Assert.DoesNotContain(features.Elements(), e => e.Name.LocalName == "starttls");
        var jid = await ws.LoginAsync("localhost", user, "ws-secret");
        Assert.StartsWith($"{user}@localhost/", jid);

        await using var tcp = await fixture.LoginNewAsync("tcpuser");
        await ws.SendAsync($"<message xmlns='jabber:client' to='{tcp.Jid}' type='chat' id='w1'><body>from the web</body></message>");
        var got = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "w1", "the websocket client's message");
        Assert.Equal(jid, (string?)got.Attribute("from"));

        await tcp.SendAsync($"<message to='{jid}' type='chat' id='t1'><body>from tcp</body></message>");
        var back = await ws.WaitForAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("id") == "t1");
        Assert.Equal("jabber:client", back.Name.NamespaceName);
        Assert.Equal("from tcp", back.Elements().Single(e => e.Name.LocalName == "body").Value);

        await ws.SendAsync($"<close xmlns='{Framing}'/>");
        Assert.Equal("close", (await ws.WaitForAsync(e => e.Name.LocalName == "close")).Name.LocalName);
    }

    [Fact]
    public async Task Xmppjs_over_websocket_exchanges_messages_with_a_tcp_client()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("xmppjs");
        await fixture.Server.RegisterAsync(user, "js-secret");
        await using var tcp = await fixture.LoginNewAsync("jspeer");

        var script = JsClients.DirectoryWith(Path.Combine("@xmpp", "client"));
        // Node 20 has the WebSocket global xmpp.js uses behind a flag (on by default from Node 22).
        var node = ChildProcess.RunAsync("node", ["--experimental-websocket", "ws_chat.mjs", "--url", Endpoint.ToString(),
            "--domain", "localhost", "--user", user, "--password", "js-secret", "--peer", tcp.Jid!, "--expect", "1"],
            script, TimeSpan.FromSeconds(60));

        var hello = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "js1", "xmpp.js's message", TimeSpan.FromSeconds(40));
        var from = (string)hello.Attribute("from")!;
        Assert.StartsWith($"{user}@localhost/", from);
        await tcp.SendAsync($"<message to='{from}' type='chat' id='back'><body>hello xmpp.js</body></message>");

        var run = await node;
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(run.Stdout.Trim().Split('\n').Last());
        var root = json.RootElement;
        Assert.True(root.GetProperty("sm_enabled").GetBoolean(), run.Stdout);
        Assert.Equal(from, root.GetProperty("jid").GetString());
        Assert.Equal("hello xmpp.js", root.GetProperty("received")[0].GetProperty("body").GetString());
    }

    [Fact]
    public async Task Stream_management_resumes_on_a_new_websocket_with_the_queued_messages()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("wssm");
        await fixture.Server.RegisterAsync(user, "ws-secret");
        var first = await WsClient.ConnectAsync(Endpoint);
        await first.OpenAsync("localhost");
        var jid = await first.LoginAsync("localhost", user, "ws-secret");
        await first.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var enabled = await first.WaitForAsync(e => e.Name.LocalName == "enabled");
        var previd = (string?)enabled.Attribute("id");
        Assert.NotNull(previd);
        first.Abort(); // the browser tab's network went away: no <close/>

        await using var tcp = await fixture.LoginNewAsync("smsender");
        for (var i = 0; i < 3; i++)
            await tcp.SendAsync($"<message to='{jid}' type='chat' id='q{i}'><body>while away {i}</body></message>");
        Assert.True(await tcp.PingAsync("localhost", "sent-all"));

        await using var second = await WsClient.ConnectAsync(Endpoint);
        await second.OpenAsync("localhost");
        await second.AuthenticateAsync(user, "ws-secret");
        await second.OpenAsync("localhost");
        await second.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{previd}' h='0'/>");
        Assert.Equal("resumed", (await second.WaitForAsync(e => e.Name.LocalName is "resumed" or "failed")).Name.LocalName);
        for (var i = 0; i < 3; i++)
            await second.WaitForAsync(e => e.Name.LocalName == "message" && (string?)e.Attribute("id") == $"q{i}");
    }

    [Fact]
    public async Task Without_the_xmpp_subprotocol_the_upgrade_is_refused()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        using var socket = new ClientWebSocket();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(Endpoint, CancellationToken.None));
        Assert.Contains("400", refused.Message);
        await fixture.Bystanders.ExchangeOnceAsync();
    }

    [Fact]
    public async Task Binary_messages_and_broken_xml_end_only_that_connection()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        await using (var binary = await WsClient.ConnectAsync(Endpoint))
        {
            await binary.OpenAsync("localhost");
            await binary.SendBinaryAsync([1, 2, 3]);
            Assert.True(await binary.ClosedAsync());
        }
        await using (var broken = await WsClient.ConnectAsync(Endpoint))
        {
            await broken.OpenAsync("localhost");
            await broken.SendAsync("<message xmlns='jabber:client'><body>unterminated");
            await broken.SendAsync("</wrong></message>");
            var error = await broken.WaitForAsync(e => e.Name.LocalName == "error");
            Assert.Equal("http://etherx.jabber.org/streams", error.Name.NamespaceName);
        }
        await fixture.Bystanders.ExchangeOnceAsync();
        Assert.Empty(fixture.Bystanders.Problems);
    }

    /// <summary>A WebSocket client that speaks RFC 7395 one message at a time.</summary>
    private sealed class WsClient : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();

        public static async Task<WsClient> ConnectAsync(Uri endpoint)
        {
            var client = new WsClient();
            client._socket.Options.AddSubProtocol("xmpp");
            await client._socket.ConnectAsync(endpoint, CancellationToken.None);
            Assert.Equal("xmpp", client._socket.SubProtocol);
            return client;
        }

        public Task SendAsync(string text) =>
            _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

        public Task SendBinaryAsync(byte[] bytes) =>
            _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

        public async Task<XElement> OpenAsync(string host)
        {
            await SendAsync($"<open xmlns='{Framing}' to='{host}' version='1.0'/>");
            var open = await WaitForAsync(e => e.Name.LocalName == "open");
            Assert.Equal(Framing, open.Name.NamespaceName);
            Assert.NotNull(open.Attribute("id"));
            return await WaitForAsync(e => e.Name.LocalName == "features");
        }

        public async Task AuthenticateAsync(string user, string password)
        {
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            await SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>");
            Assert.Equal("success", (await WaitForAsync(e => e.Name.LocalName is "success" or "failure")).Name.LocalName);
        }

        public async Task<string> LoginAsync(string host, string user, string password)
        {
            await AuthenticateAsync(user, password);
            await OpenAsync(host);
            await SendAsync("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
            var bound = await WaitForAsync(e => (string?)e.Attribute("id") == "b1");
            return bound.Descendants().Single(e => e.Name.LocalName == "jid").Value;
        }

        public async Task<XElement> WaitForAsync(Func<XElement, bool> match)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var seen = new List<string>();
            while (true)
            {
                var text = await ReceiveAsync(deadline.Token)
                    ?? throw new Xunit.Sdk.XunitException("socket closed; saw: " + string.Join("\n", seen));
                seen.Add(text);
                var element = XElement.Parse(text); // each message is a complete document (RFC 7395 §3.3.3)
                if (match(element)) return element;
            }
        }

        public async Task<bool> ClosedAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await ReceiveAsync(deadline.Token) is not null) { }
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private async Task<string?> ReceiveAsync(CancellationToken cancel)
        {
            var buffer = new byte[65536];
            var message = new MemoryStream();
            while (true)
            {
                WebSocketReceiveResult result;
                try
                {
                    result = await _socket.ReceiveAsync(buffer, cancel);
                }
                catch (WebSocketException)
                {
                    return null;
                }
                if (result.MessageType == WebSocketMessageType.Close) return null;
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage) return Encoding.UTF8.GetString(message.ToArray());
            }
        }

        public void Abort() => _socket.Abort();

        public ValueTask DisposeAsync()
        {
            _socket.Abort();
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
