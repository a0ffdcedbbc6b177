using System.Net;
using System.Net.Sockets;
using System.Text;
using LuaXmpp.Tests.Fixtures;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// The HTTP listener and Prosody's HTTP module API (module:provides("http"), net.http.server's
/// request/response objects) against the real server process, with a module of our own that
/// provides routes, driven by .NET's HttpClient and raw sockets.
/// </summary>
public sealed class HttpServerTests(HttpServerFixture fixture) : IClassFixture<HttpServerFixture>
{
    // Every kind of handler result net.http.server accepts: a string, a number, a table, true
    // (answered later), a handler that waits in its runner, a wildcard with the rest of the path.
    internal const string TestModule = """
        module:depends("http");
        local timer = require "util.timer";
        local async = require "util.async";
        module:provides("http", {
            route = {
                ["GET /"] = "root\n";
                ["GET /text"] = function(event) return "q=" .. (event.request.url.query or "") .. " ip=" .. event.request.ip; end;
                ["POST /echo"] = function(event)
                    event.response.headers.content_type = "application/octet-stream";
                    return event.request.body;
                end;
                ["GET /files/*"] = function(event, path) return "file:" .. path; end;
                ["GET /teapot"] = 418;
                ["GET /table"] = function() return { status_code = 201, headers = { x_made_by = "test" }, body = "made" }; end;
                ["GET /wait"] = function()
                    local wait, done = async.waiter();
                    timer.add_task(0.2, function() done(); end);
                    wait();
                    return "waited";
                end;
                ["GET /later"] = function(event)
                    timer.add_task(0.1, function() event.response:send("sent later"); end);
                    return true;
                end;
                ["GET /boom"] = function() error("handler exploded on purpose"); end;
                ["GET /url"] = function() return module:http_url(); end;
                ["GET /fetch"] = function()
                    local url = "http://127.0.0.1:" .. module:get_option_number("httptest_port") .. "/httptest/table";
                    return require "net.http".request(url, { headers = { Host = "localhost" } }):next(function(response)
                        return ("fetched %d %s %s"):format(response.code, response.body, response.headers["x-made-by"] or "-");
                    end);
                end;
                ["GET /fetch-refused"] = function(event)
                    require "net.http".request("http://127.0.0.1:1/", nil, function(body, code)
                        event.response:send(("code %d"):format(code));
                    end);
                    return true;
                end;
                ["GET /static/*"] = require "net.http.files".serve({
                    path = module:get_option_string("httptest_static"), mime_map = { txt = "text/plain", html = "text/html" } });
            };
        });
        """;

    private readonly HttpClient _client = fixture.Client;
    private readonly ServerProcess _server = fixture.Server;
    private readonly int _httpPort = fixture.HttpPort;

    private string Url(string path) => $"http://127.0.0.1:{_httpPort}/httptest{path}";

    private HttpRequestMessage Get(string path) =>
        new(HttpMethod.Get, Url(path)) { Headers = { Host = "localhost" } };

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await _client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task Every_kind_of_handler_result_reaches_the_client()
    {
        Assert.Equal((HttpStatusCode.OK, "root\n"), Pick(await SendAsync(Get("/"))));
        Assert.Equal((HttpStatusCode.OK, "q=a=1&b=2 ip=127.0.0.1"), Pick(await SendAsync(Get("/text?a=1&b=2"))));
        Assert.Equal((HttpStatusCode.OK, "file:deep/er/name.txt"), Pick(await SendAsync(Get("/files/deep/er/name.txt"))));

        var teapot = await SendAsync(Get("/teapot"));
        Assert.Equal((HttpStatusCode)418, teapot.Status);
        Assert.Contains("418", teapot.Body);

        var table = await SendAsync(Get("/table"));
        Assert.Equal((HttpStatusCode.Created, "made"), Pick(table));
        Assert.Equal("test", table.Response.Headers.GetValues("X-Made-By").Single());

        Assert.Equal((HttpStatusCode.OK, "waited"), Pick(await SendAsync(Get("/wait"))));
        Assert.Equal((HttpStatusCode.OK, "sent later"), Pick(await SendAsync(Get("/later"))));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Get("/nowhere"))).Status);
    }

    [Fact]
    public async Task The_http_client_fetches_and_reports_a_refused_connection_as_code_0()
    {
        Assert.Equal((HttpStatusCode.OK, "fetched 201 made test"), Pick(await SendAsync(Get("/fetch"))));
        Assert.Equal((HttpStatusCode.OK, "code 0"), Pick(await SendAsync(Get("/fetch-refused"))));
    }

    [Fact]
    public async Task Static_files_are_served_with_validators_and_never_outside_their_directory()
    {
        var file = await SendAsync(Get("/static/hello.txt"));
        Assert.Equal((HttpStatusCode.OK, "hello static\n"), Pick(file));
        Assert.Equal("text/plain", file.Response.Content.Headers.ContentType?.MediaType);
        var etag = file.Response.Headers.ETag!;
        var again = Get("/static/hello.txt");
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await SendAsync(again)).Status);
        Assert.Equal((HttpStatusCode.OK, "<p>index</p>"), Pick(await SendAsync(Get("/static/sub/"))));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Get("/static/missing.txt"))).Status);
        // Paths that would climb above the directory never reach a file outside it: dot segments
        // (Kestrel resolves them first, so the route no longer matches) and an encoded slash
        // inside a segment (refused by the file handler).
        foreach (var attack in new[] { "/httptest/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/httptest/static/..%2f..%2f..%2fetc%2fpasswd" })
        {
            var answer = await RawAsync($"GET {attack} HTTP/1.1\r\nHost: localhost\r\n\r\n");
            Assert.Matches("^HTTP/1.1 (400|404) ", answer);
            Assert.DoesNotContain("root:", answer);
        }
    }

    [Fact]
    public async Task A_wildcard_base_without_its_slash_redirects()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var response = await client.SendAsync(Get("/files"));
        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/httptest/files/", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task A_binary_body_comes_back_byte_for_byte()
    {
        var bytes = new byte[60000];
        new Random(7).NextBytes(bytes);
        var request = new HttpRequestMessage(HttpMethod.Post, Url("/echo")) { Headers = { Host = "localhost" }, Content = new ByteArrayContent(bytes) };
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_body_over_http_max_content_size_gets_413_and_the_server_goes_on()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Url("/echo")) { Headers = { Host = "localhost" }, Content = new ByteArrayContent(new byte[70000]) };
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal((HttpStatusCode.OK, "root\n"), Pick(await SendAsync(Get("/"))));
        _server.Check(() => Assert.Contains("Rejected POST /httptest/echo", File.ReadAllText(_server.LogPath)));
    }

    [Fact]
    public async Task A_handler_that_raises_gets_500_logged_with_its_module_file()
    {
        Assert.Equal(HttpStatusCode.InternalServerError, (await SendAsync(Get("/boom"))).Status);
        Assert.Equal((HttpStatusCode.OK, "root\n"), Pick(await SendAsync(Get("/"))));
        _server.Check(() =>
        {
            var log = File.ReadAllText(_server.LogPath);
            Assert.Contains("handler exploded on purpose", log);
            Assert.Contains("mod_httptest.lua", log);
        });
    }

    [Fact]
    public async Task An_unknown_host_gets_404_and_a_missing_host_400()
    {
        var unknown = new HttpRequestMessage(HttpMethod.Get, Url("/")) { Headers = { Host = "elsewhere.example" } };
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(unknown)).Status);

        // HTTP/1.0 lets a client leave Host out.
        var answer = await RawAsync("GET /httptest/ HTTP/1.0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", answer);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET /httptest/ HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n")]
    [InlineData("GET /httptest/ HTTP/9.9\r\nHost: localhost\r\n\r\n")]
    [InlineData("POST /httptest/echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n")]
    public async Task Malformed_requests_are_answered_400_or_505_and_others_are_unaffected(string request)
    {
        var answer = await RawAsync(request);
        Assert.Matches("^HTTP/1.1 (400|505) ", answer);
        Assert.Equal((HttpStatusCode.OK, "root\n"), Pick(await SendAsync(Get("/"))));
    }

    [Fact]
    public async Task Module_http_url_names_the_host_and_port()
    {
        Assert.Equal((HttpStatusCode.OK, $"http://localhost:{_httpPort}/httptest"), Pick(await SendAsync(Get("/url"))));
    }

    [Fact]
    public async Task The_xmpp_listener_is_untouched_by_http_traffic()
    {
        for (var i = 0; i < 20; i++) Assert.Equal(HttpStatusCode.OK, (await SendAsync(Get("/"))).Status);
        var stream = await RawStreamAsync(_server.C2sPort, $"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
        Assert.Contains("<stream:features", stream);
    }

    private static (HttpStatusCode, string) Pick((HttpStatusCode Status, string Body, HttpResponseMessage _) r) => (r.Status, r.Body);

    private Task<string> RawAsync(string request) => RawStreamAsync(_httpPort, request);

    private static async Task<string> RawStreamAsync(int port, string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[8192];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (!text.ToString().Contains("\r\n\r\n") && !text.ToString().Contains("<stream:features"))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0) break;
                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException)
        {
        }
        return text.ToString();
    }
}
