using System.Net;
using System.Net.Sockets;
using System.Text;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// The HTTP listener's limits against the real server, with small limits: what a client past
/// each limit sees (503, 431, 400, 413, 408 or a closed idle connection, 504 for a handler that
/// never answers, a WebSocket close for a broken frame), and that everyone else is still served.
/// </summary>
public sealed class HttpLimitsTests(HttpLimitsTests.Server fixture) : IClassFixture<HttpLimitsTests.Server>
{
    private const string Module = """
        module:depends("http");
        module:provides("http", {
            route = {
                ["GET /ok"] = "ok";
                ["GET /never"] = function() return true; end; -- "answered later", and never is
            };
        });
        """;

    public sealed class Server : SharedServer
    {
        private readonly string _plugins = Directory.CreateTempSubdirectory("luaxmpp-httplimits-").FullName;

        public int HttpPort { get; } = FreePorts.Take(1)[0];

        protected override void Configure(ServerConfig config)
        {
            File.WriteAllText(Path.Combine(_plugins, "mod_httplimits.lua"), Module);
            config.Set("plugin_paths", ServerConfig.LuaList(_plugins));
            config.Set("http_ports", $"{{ {HttpPort} }}");
            config.Set("https_ports", "{ }");
            config.Set("http_default_host", ServerConfig.Lua("localhost"));
            config.Set("http_max_connections_per_ip", "4");
            config.Set("http_max_header_size", "8192");
            config.Set("http_max_content_size", "4096");
            config.Set("http_idle_timeout", "2");
            config.Set("http_headers_timeout", "2");
            config.Set("http_handler_timeout", "2");
            config.Set("consider_websocket_secure", "true");
            config.Set("network_settings", "{ max_unauthenticated_per_ip = 8 }");
            config.Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "websocket", "bosh", "httplimits"));
        }

        public async Task ReadyAsync() => await HttpServerFixture.WaitForPortAsync(HttpPort, Server);

        /// <summary>A plain GET from the usual address: the "everyone else" of each case.</summary>
        public async Task AssertServedAsync()
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var ok = await http.GetAsync($"http://127.0.0.1:{HttpPort}/httplimits/ok");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            await Bystanders.ExchangeOnceAsync();
            Assert.Empty(Bystanders.Problems);
        }
    }

    private const string Ok = "GET /httplimits/ok HTTP/1.1\r\nHost: localhost\r\n\r\n";

    [Fact]
    public async Task A_handler_that_never_answers_gets_the_client_a_504_and_its_module_is_logged()
    {
        await fixture.ReadyAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var never = http.GetAsync($"http://127.0.0.1:{fixture.HttpPort}/httplimits/never");
        await fixture.AssertServedAsync(); // while it waits, others are answered
        var response = await never;
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(await fixture.LogContainsAsync("module httplimits did not answer within 2 s (http_handler_timeout)"));
    }

    [Fact]
    public async Task Connections_past_the_per_address_cap_get_503_and_other_addresses_are_served()
    {
        await fixture.ReadyAsync();
        var crowd = IPAddress.Parse("127.0.0.9");
        var open = new List<RawHttp>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var conn = await RawHttp.ConnectAsync(crowd, fixture.HttpPort);
                open.Add(conn);
                await conn.SendAsync(Ok);
                Assert.StartsWith("HTTP/1.1 200", await conn.ReadResponseHeadAsync()); // admitted and kept alive
            }
            await using (var fifth = await RawHttp.ConnectAsync(crowd, fixture.HttpPort))
            {
                var refused = await fifth.ReadToEndAsync();
                Assert.StartsWith("HTTP/1.1 503", refused);
                Assert.Contains("Too many connections", refused);
            }
            await fixture.AssertServedAsync();
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            // The freed place is given again (the close reaches the server asynchronously).
            for (var attempt = 0; ; attempt++)
            {
                await using var again = await RawHttp.ConnectAsync(crowd, fixture.HttpPort);
                await again.SendAsync(Ok);
                var head = await again.ReadResponseHeadAsync();
                if (head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) break;
                Assert.True(attempt < 50, "the closed connection's place was never freed: " + head);
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var conn in open) await conn.DisposeAsync();
        }
    }

    [Fact]
    public async Task Oversized_headers_get_431_malformed_requests_400_and_oversized_bodies_413()
    {
        await fixture.ReadyAsync();
        await using (var big = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort))
        {
            await big.SendAsync($"GET /httplimits/ok HTTP/1.1\r\nHost: localhost\r\nX-Filler: {new string('a', 10_000)}\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 431", await big.ReadToEndAsync());
        }
        await using (var garbage = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort))
        {
            await garbage.SendAsync("GET /httplimits/ok HTTP/1.1\r\nHost: localhost\r\nA header line without a colon\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 400", await garbage.ReadToEndAsync());
        }
        await using (var body = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort))
        {
            await body.SendAsync("POST /httplimits/ok HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" + new string('x', 5000));
            Assert.StartsWith("HTTP/1.1 413", await body.ReadToEndAsync());
        }
        await fixture.AssertServedAsync();
    }

    [Fact]
    public async Task Idle_connections_and_slow_headers_are_closed()
    {
        await fixture.ReadyAsync();
        await using var idle = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort);
        await idle.SendAsync(Ok);
        Assert.StartsWith("HTTP/1.1 200", await idle.ReadResponseHeadAsync());
        await using var slow = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort);
        await slow.SendAsync("GET /httplimits/ok HTTP/1.1\r\nHost: loc"); // and nothing more
        // Both end by themselves (2 s limits here; Kestrel checks once a second).
        var slowEnd = slow.ReadToEndAsync();
        Assert.Equal("", await idle.ReadToEndAsync(TimeSpan.FromSeconds(20)));
        var slowAnswer = await slowEnd;
        Assert.True(slowAnswer == "" || slowAnswer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), slowAnswer);
        await fixture.AssertServedAsync();
    }

    [Fact]
    public async Task A_malformed_websocket_frame_closes_only_that_connection()
    {
        await fixture.ReadyAsync();
        await using var raw = await RawHttp.ConnectAsync(IPAddress.Loopback, fixture.HttpPort);
        await raw.SendAsync("GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 101", await raw.ReadResponseHeadAsync());
        // RFC 6455 §5.1: a client's frames are masked; this text frame is not (and is not XMPP).
        await raw.SendAsync([0x81, 0x05, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o']);
        var rest = await raw.ReadBytesToEndAsync(TimeSpan.FromSeconds(20));
        // What comes back is at most a close frame (opcode 8), then the connection ends.
        Assert.True(rest.Length == 0 || (rest[0] & 0x0F) == 0x8, "unexpected frame: " + Convert.ToHexString(rest));
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("xmpp");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.HttpPort}/xmpp-websocket"), CancellationToken.None);
        await socket.SendAsync("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>"u8.ToArray(),
            System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var first = await socket.ReceiveAsync(buffer, deadline.Token);
        Assert.Contains("<open", Encoding.UTF8.GetString(buffer, 0, first.Count));
        await fixture.AssertServedAsync();
    }

    [Fact]
    public async Task Bosh_logins_in_progress_count_against_the_c2s_cap_per_address()
    {
        await fixture.ReadyAsync();
        var from = IPAddress.Parse("127.0.0.11");
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(from, 0));
                await socket.ConnectAsync(IPAddress.Loopback, fixture.HttpPort, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }) { Timeout = TimeSpan.FromSeconds(30) };
        var endpoint = new Uri($"http://127.0.0.1:{fixture.HttpPort}/http-bind");
        string Create(int rid) => $"<body xmlns='{BoshClient.Ns}' rid='{rid}' to='localhost' wait='5' hold='1'/>";
        // network_settings.max_unauthenticated_per_ip = 8 here: eight sessions that never log in...
        for (var i = 0; i < 8; i++)
            Assert.NotNull((await BoshClient.PostOnceAsync(http, endpoint, Create(100 + i))).Attribute("sid"));
        // ...and the ninth from that address is ended with the stream error a TCP stream would get.
        var refused = await BoshClient.PostOnceAsync(http, endpoint, Create(200));
        Assert.Equal("terminate", (string?)refused.Attribute("type"));
        Assert.Equal("remote-stream-error", (string?)refused.Attribute("condition"));
        Assert.Contains(refused.Descendants(), e => e.Name.LocalName == "policy-violation");
        await fixture.AssertServedAsync();
    }

    /// <summary>A bare TCP connection speaking HTTP by hand, from a chosen loopback address.</summary>
    private sealed class RawHttp : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;

        private RawHttp(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket, ownsSocket: true);
        }

        public static async Task<RawHttp> ConnectAsync(IPAddress from, int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(from, 0));
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return new RawHttp(socket);
        }

        public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

        public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

        /// <summary>The status line and headers of one response (its body, if any, stays unread).</summary>
        public async Task<string> ReadResponseHeadAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await _stream.ReadAsync(one, deadline.Token) == 0) break;
                head.Append((char)one[0]);
            }
            var text = head.ToString();
            // Consume a short body so the connection can carry the next request.
            var length = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            if (length is not null && int.TryParse(length["Content-Length:".Length..].Trim(), out var n))
                await _stream.ReadExactlyAsync(new byte[n], deadline.Token);
            return text;
        }

        public async Task<string> ReadToEndAsync(TimeSpan? limit = null) =>
            Encoding.ASCII.GetString(await ReadBytesToEndAsync(limit ?? TimeSpan.FromSeconds(20)));

        /// <summary>Everything until the server closes; fails if it does not within the limit.</summary>
        public async Task<byte[]> ReadBytesToEndAsync(TimeSpan limit)
        {
            using var deadline = new CancellationTokenSource(limit);
            var all = new MemoryStream();
            var buffer = new byte[8192];
            try
            {
                int n;
                while ((n = await _stream.ReadAsync(buffer, deadline.Token)) > 0) all.Write(buffer, 0, n);
            }
            catch (IOException)
            {
                // A reset after the answer: what was read is what the client saw.
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"the server did not close within {limit.TotalSeconds} s; read: {Encoding.ASCII.GetString(all.ToArray())}");
            }
            return all.ToArray();
        }

        public ValueTask DisposeAsync()
        {
            _stream.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
