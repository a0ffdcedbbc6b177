using LuaXmpp.Tests.Reliability;
using System.Net.Sockets;
using System.Text;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// Prosody module files that open their own listeners through core.portmanager and net.server
/// (mod_proxy65 on a Component, mod_admin_telnet with Prosody's mod_admin_shell,
/// mod_net_multiplex), unmodified, on LuaXmpp and on Prosody 0.12.3 with the same files and
/// config. What a user sees on the wire is asserted on both.
/// </summary>
public sealed class ListenerModuleTests(ListenerModuleServers servers) : IClassFixture<ListenerModuleServers>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    /// <summary>XEP-0065 §6 (mediated): two slixmpp clients find the proxy by disco, negotiate a
    /// bytestream through it, and 256 KiB arrive unchanged; the proxy closes the target when the
    /// initiator leaves. Activations with an unknown sid or no target get XEP-0065 §6.3.5's errors.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Proxy65_RelaysAFileBetweenTwoClients(string flavor)
    {
        var server = servers[flavor];
        var result = await PythonClient.RunAsync(server.Process, "proxy65.py",
            "--jid", server.Process.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Process.Jid("bob"), "--peer-password", "pass-bob");
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(ListenerModuleServers.ProxyHost, Assert.Single(r["proxies"].EnumerateObject()).Name);
            Assert.Equal(server.ProxyPort, r["proxies"].EnumerateObject().Single().Value[1].GetInt32());
            Assert.True(r["sha256_equal"].GetBoolean());
            Assert.Equal(256 * 1024, r["received"].GetInt32());
            Assert.True(r["proxy_closed_target"].GetBoolean());
            Assert.Equal("item-not-found", r.String("unknown_sid"));
            Assert.Equal("bad-request", r.String("no_target"));
        });
    }

    /// <summary>Garbage and an oversized first packet on the SOCKS5 port get "no acceptable
    /// method" (RFC 1928 §3: X'FF') and the connection closed; the proxy logs it; a well-formed
    /// greeting on another connection is still answered.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Proxy65_RefusesGarbageAndOversizedInput(string flavor)
    {
        var server = servers[flavor];
        using var good = await RawConnection.OpenAsync(server.ProxyPort);
        foreach (var bad in new[] { Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\n\r\n"), new byte[] { 5, 1, 2 }, Enumerable.Repeat((byte)'x', 2000).ToArray() })
        {
            using var conn = await RawConnection.OpenAsync(server.ProxyPort);
            await conn.SendAsync(bad);
            Assert.Equal(new byte[] { 5, 255 }, await conn.ReadToEndAsync(Step));
        }
        await good.SendAsync([5, 1, 0]);
        Assert.Equal(new byte[] { 5, 0 }, await good.ReadExactlyAsync(2, Step));
        await WaitForLogAsync(server.Process, "Invalid SOCKS5 greeting received");
    }

    private static async Task WaitForLogAsync(ServerProcess server, string text)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            if (File.Exists(server.LogPath) && (await File.ReadAllTextAsync(server.LogPath)).Contains(text, StringComparison.Ordinal)) return;
            await Task.Delay(100);
        }
        throw new XunitException($"the server log never said \"{text}\"\n{server.LogTail(40)}");
    }

    /// <summary>mod_net_multiplex: a SOCKS5 greeting on the multiplex port reaches mod_proxy65
    /// (its pattern ^\5), as on Prosody.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Multiplex_RoutesSocks5ToTheProxy(string flavor)
    {
        var server = servers[flavor];
        using var conn = await RawConnection.OpenAsync(server.MultiplexPort);
        await conn.SendAsync([5, 1, 0]);
        Assert.Equal(new byte[] { 5, 0 }, await conn.ReadExactlyAsync(2, Step));
    }

    /// <summary>mod_net_multiplex: a client stream on the multiplex port goes to c2s (here the
    /// native listener adopts the connection with what was read): STARTTLS, SCRAM and bind
    /// work as on the c2s port, as on Prosody.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Multiplex_CarriesAClientStream(string flavor)
    {
        var server = servers[flavor];
        // argparse keeps the last --port: the multiplex port instead of the c2s one.
        var result = await PythonClient.RunAsync(server.Process, "login.py",
            "--jid", server.Process.Jid("bob"), "--password", "pass-bob", "--port", server.MultiplexPort.ToString());
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("session", r.String("outcome"));
            Assert.True(r["tls"].GetBoolean());
            Assert.StartsWith(server.Process.Jid("bob") + "/", r.String("bound_jid"));
        });
    }

    /// <summary>mod_admin_telnet over Prosody's mod_admin_shell: the banner, server:version(),
    /// a syntax error answered as an error with the connection kept, and another console
    /// session unaffected.</summary>
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Telnet_AnswersCommands_AndSurvivesBadCommands(string flavor)
    {
        var server = servers[flavor];
        using var console = await RawConnection.OpenAsync(server.ConsolePort);
        using var other = await RawConnection.OpenAsync(server.ConsolePort);
        Assert.Contains("Welcome to the Prosody administration console", await console.ReadReplyAsync(Step));
        await other.ReadReplyAsync(Step);

        var version = await console.CommandAsync("server:version()", Step);
        Assert.StartsWith("| OK: ", version);
        var bad = await console.CommandAsync("this is not lua(", Step);
        Assert.Contains("Sorry, I couldn't understand that", bad);
        Assert.Equal(version, await console.CommandAsync("server:version()", Step));
        Assert.Contains("| OK: 0 c2s sessions shown", await other.CommandAsync("c2s:show()", Step));

        Assert.Contains("See you!", await console.CommandAsync("quit", Step));
        Assert.Equal(version, await other.CommandAsync("server:version()", Step));
    }

    /// <summary>
    /// A console line that never ends: mod_admin_telnet rescans its whole buffer on every read,
    /// so on Prosody 200 kB without a newline stall the server for minutes (not run there). Here
    /// the console listener takes 4 KiB without answering, then closes the connection and logs
    /// why; another console session answers meanwhile.
    /// </summary>
    [Fact]
    public async Task Telnet_ClosesAConnectionThatSendsAnEndlessLine()
    {
        var server = servers["luaxmpp"];
        using var console = await RawConnection.OpenAsync(server.ConsolePort);
        using var other = await RawConnection.OpenAsync(server.ConsolePort);
        await console.ReadReplyAsync(Step);
        await other.ReadReplyAsync(Step);
        try
        {
            await console.SendAsync(Encoding.ASCII.GetBytes(new string('y', 200_000)));
        }
        catch (IOException)
        {
            // the server may reset the connection before all of it was written
        }
        Assert.Empty(await console.ReadToEndAsync(Step));
        await WaitForLogAsync(server.Process, "bytes of input without an answer");
        Assert.StartsWith("| OK: ", await other.CommandAsync("server:version()", Step));
    }

    /// <summary>mod_onions, with no Tor proxy at its SOCKS5 address: a message to a .onion
    /// domain makes it connect there, and the failure is one clear log line.</summary>
    [Fact]
    public async Task Onions_SaysClearlyWhenItsTorProxyIsAbsent()
    {
        var server = servers["luaxmpp"];
        var result = await PythonClient.RunAsync(server.Process, "onion_message.py",
            "--jid", server.Process.Jid("alice"), "--password", "pass-alice", "--to", "someone@abcdefghijklmnop.onion");
        result.Check(r => Assert.True(r.Ok));
        await WaitForLogAsync(server.Process, $"Connecting to 127.0.0.1:{server.TorPort} failed");
    }

    /// <summary>A loopback TCP connection to one of the module listeners.</summary>
    private sealed class RawConnection : IDisposable
    {
        private readonly TcpClient _client;
        private readonly NetworkStream _stream;

        private RawConnection(TcpClient client)
        {
            _client = client;
            _stream = client.GetStream();
        }

        public static async Task<RawConnection> OpenAsync(int port)
        {
            var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return new RawConnection(client);
        }

        public Task SendAsync(byte[] data) => _stream.WriteAsync(data).AsTask();

        public async Task<byte[]> ReadExactlyAsync(int count, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var buffer = new byte[count];
            await _stream.ReadExactlyAsync(buffer, cts.Token);
            return buffer;
        }

        /// <summary>Everything until the peer closes (bounded by the timeout).</summary>
        public async Task<byte[]> ReadToEndAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var all = new MemoryStream();
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await _stream.ReadAsync(buffer, cts.Token)) > 0) all.Write(buffer, 0, n);
            }
            catch (IOException)
            {
                // reset by the peer after its reply: what arrived is the answer
            }
            return all.ToArray();
        }

        /// <summary>The console's output up to its end-of-reply marker (a NUL byte).</summary>
        public async Task<string> ReadReplyAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var all = new MemoryStream();
            var buffer = new byte[4096];
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0) break;
                all.Write(buffer, 0, n);
                if (buffer[n - 1] == 0) break;
            }
            return Encoding.UTF8.GetString(all.ToArray()).TrimEnd('\0');
        }

        public async Task<string> CommandAsync(string line, TimeSpan timeout)
        {
            await SendAsync(Encoding.UTF8.GetBytes(line + "\n"));
            return await ReadReplyAsync(timeout);
        }

        public void Dispose() => _client.Dispose();
    }
}

/// <summary>One server of the class fixture and the ports of its module listeners.</summary>
public sealed record ListenerModuleServer(ServerProcess Process, int ProxyPort, int ConsolePort, int MultiplexPort, int TorPort);

/// <summary>
/// One LuaXmpp and one Prosody 0.12.3 process with mod_proxy65 (Component proxy.localhost),
/// mod_admin_telnet, mod_net_multiplex and mod_onions, the module files copied from the Debian packages.
/// </summary>
public sealed class ListenerModuleServers : IAsyncLifetime
{
    public const string ProxyHost = "proxy.localhost";

    private static readonly string[] Users = ["alice", "bob"];

    private static readonly string[] ModuleFiles =
        ["mod_proxy65.lua", "mod_admin_telnet.lua", "mod_admin_shell.lua", "mod_admin_socket.lua", "mod_net_multiplex.lua", "mod_onions"];

    private ProsodyPluginDirectory? _plugins;
    private ListenerModuleServer? _luaxmpp;
    private ListenerModuleServer? _prosody;

    public ListenerModuleServer this[string flavor] => flavor switch
    {
        "luaxmpp" => _luaxmpp!,
        "prosody" => _prosody!,
        _ => throw new XunitException($"unknown server flavor {flavor}"),
    };

    public async Task InitializeAsync()
    {
        _plugins = ProsodyPluginDirectory.With(ModuleFiles);
        // A port found free may be taken before the module listener binds it (the two servers
        // pick theirs concurrently, and outgoing connections draw from the same range); a
        // module listener that cannot bind only logs it, so that is read from the logs, and
        // both servers start again on new ports.
        for (int attempt = 1; ; attempt++)
        {
            var servers = await Task.WhenAll(PrepareAsync(ServerFlavor.LuaXmpp), PrepareAsync(ServerFlavor.Prosody));
            (_luaxmpp, _prosody) = (servers[0], servers[1]);
            await Task.WhenAll(_luaxmpp.Process.StartAsync(), _prosody.Process.StartAsync());
            await Task.WhenAll(WaitListeningAsync(_luaxmpp), WaitListeningAsync(_prosody));
            if (!PortTaken(_luaxmpp) && !PortTaken(_prosody) || attempt == 3) return;
            await _luaxmpp.Process.DisposeAsync();
            await _prosody.Process.DisposeAsync();
        }
    }

    // Both servers' portmanagers word a failed bind so.
    private static bool PortTaken(ListenerModuleServer server) =>
        ServerLog.Read(server.Process).Contains("Failed to open server port", StringComparison.Ordinal);

    private async Task<ListenerModuleServer> PrepareAsync(ServerFlavor flavor)
    {
        var ports = FreePorts.Take(4); // the last one stays closed: no Tor proxy listens there
        var process = await ServerProcess.CreateAsync(null, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(_plugins!.Path))
                .Set("local_interfaces", ServerConfig.LuaList("127.0.0.1"))
                .Set("proxy65_ports", $"{{ {ports[0]} }}")
                .Set("console_ports", $"{{ {ports[1]} }}")
                .Set("ports", $"{{ {ports[2]} }}")
                .Set("onions_socks5_port", ports[3].ToString())
                .Set("modules_enabled", ServerConfig.LuaList(
                    "roster", "saslauth", "tls", "disco", "ping", "admin_telnet", "net_multiplex", "onions"));
            config.ExtraSections.Add($"Component \"{ProxyHost}\" \"proxy65\"\n  proxy65_address = \"127.0.0.1\"");
        }, flavor);
        foreach (var user in Users) await process.RegisterAsync(user, "pass-" + user);
        return new ListenerModuleServer(process, ports[0], ports[1], ports[2], ports[3]);
    }

    // The module listeners open as their modules load, which may follow the c2s port.
    private static async Task WaitListeningAsync(ListenerModuleServer server)
    {
        foreach (var port in new[] { server.ProxyPort, server.ConsolePort, server.MultiplexPort })
        {
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (attempt < 100)
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_luaxmpp is not null) await _luaxmpp.Process.DisposeAsync();
        if (_prosody is not null) await _prosody.Process.DisposeAsync();
        _plugins?.Dispose();
    }
}
