using System.Net;
using System.Net.Sockets;
using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// One real server for a whole test class, with <see cref="HttpServerTests.TestModule"/> on a
/// plugin path and an HTTP port: every case's requests (the bad ones too) land on the same
/// process, so a case that wedged the listener shows in the next.
/// </summary>
public sealed class HttpServerFixture : IAsyncLifetime
{
    private string? _plugins;

    public ServerProcess Server { get; private set; } = null!;

    public int HttpPort { get; private set; }

    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-http-plugins-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_plugins, "mod_httptest.lua"), HttpServerTests.TestModule);
        HttpPort = FreePorts.Take(1)[0];
        var files = Directory.CreateDirectory(Path.Combine(_plugins, "static")).FullName;
        await File.WriteAllTextAsync(Path.Combine(files, "hello.txt"), "hello static\n");
        Directory.CreateDirectory(Path.Combine(files, "sub"));
        await File.WriteAllTextAsync(Path.Combine(files, "sub", "index.html"), "<p>index</p>");
        Server = await ServerProcess.StartAsync(null, c => c
            .Set("plugin_paths", ServerConfig.LuaList(_plugins))
            .Set("http_ports", HttpPort.ToString())
            .Set("https_ports", "{ }")
            .Set("http_max_content_size", "65536")
            .Set("httptest_static", ServerConfig.Lua(files))
            .Set("httptest_port", HttpPort.ToString())
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "httptest")));
        await WaitForPortAsync(HttpPort, Server);
    }

    /// <summary>Waits (10 s at most) until the server accepts on an HTTP port it opens after start.</summary>
    internal static async Task WaitForPortAsync(int port, ServerProcess server)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new Xunit.Sdk.XunitException($"HTTP port {port} never opened\n" + server.Describe());
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        if (_plugins is not null) Directory.Delete(_plugins, recursive: true);
    }
}
