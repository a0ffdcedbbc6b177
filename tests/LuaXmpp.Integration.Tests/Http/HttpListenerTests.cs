using System.Net;
using System.Net.Sockets;
using LuaXmpp.Tests.Fixtures;
using Xunit;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Http;

/// <summary>When and how the HTTP listener opens its ports (Prosody's rules for mod_http).</summary>
public sealed class HttpListenerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Https_ports_serve_http2_with_the_host_certificate()
    {
        var plugins = Directory.CreateTempSubdirectory("luaxmpp-http-plugins-").FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_httptest.lua"), HttpServerTests.TestModule);
        var port = FreePorts.Take(1)[0];
        await using var server = await ServerProcess.StartAsync(output, c => c
            .Set("plugin_paths", ServerConfig.LuaList(plugins))
            .Set("http_ports", "{ }")
            .Set("https_ports", $"{{ {port} }}")
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "httptest")));
        await HttpServerFixture.WaitForPortAsync(port, server);

        // The test trusts the server's self-signed certificate by its thumbprint-free name check only.
        using var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject.Contains("localhost") == true },
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler);
        var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{port}/httptest/url")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var response = await client.SendAsync(request);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // module:http_url() prefers HTTPS when https_ports are open.
        Assert.Equal($"https://localhost:{port}/httptest", await response.Content.ReadAsStringAsync());
        Directory.Delete(plugins, recursive: true);
    }

    [Fact]
    public async Task No_module_wants_http_so_no_port_is_opened()
    {
        var port = FreePorts.Take(1)[0];
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("http_ports", $"{{ {port} }}"));
        using var probe = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        server.Check(() => Assert.DoesNotContain("HTTP listening", File.ReadAllText(server.LogPath)));
    }
}
