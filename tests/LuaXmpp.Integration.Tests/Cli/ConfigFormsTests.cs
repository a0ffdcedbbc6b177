using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>
/// Configs written the ways Prosody 0.12 reads them, run by the real server: Include with a
/// glob, require of a helper through package.path, package.preload and an overridden os
/// function as Prosody's own test config does, ENV_*, scalar options; and certificates that a
/// reload takes up.
/// </summary>
public sealed class ConfigFormsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task IncludeGlobRequireAndEnvironment_ConfigureTheListeners()
    {
        await using var server = await ServerProcess.CreateAsync(output);
        var confd = Path.Combine(server.Directory, "conf.d");
        Directory.CreateDirectory(Path.Combine(server.Directory, "lib"));
        Directory.CreateDirectory(confd);
        await File.WriteAllTextAsync(Path.Combine(server.Directory, "lib", "ports.lua"),
            $"return {{ c2s = {server.C2sPort}, tls = \"{server.DirectTlsPort}\" }}\n");
        await File.WriteAllTextAsync(Path.Combine(confd, "10-ports.cfg.lua"), """
            local here = ENV_LUAXMPP_TEST_CONFIG_DIR
            package.path = here .. "/lib/?.lua;" .. package.path
            local ports = require "ports"
            c2s_ports = ports.c2s
            c2s_direct_tls_ports = ports.tls
            """);
        await File.WriteAllTextAsync(Path.Combine(confd, ".hidden.cfg.lua"), "c2s_ports = 1\n");
        await File.WriteAllTextAsync(Path.Combine(confd, "notes.txt"), "not lua at all {\n");
        server.Config.Remove("c2s_ports").Remove("c2s_direct_tls_ports");
        var rendered = server.Config.Render().Replace("\nVirtualHost", """

            function _G.os.time() return 1219439344 end
            package.preload["util.fake_clock"] = function () return { now = function () return 1 end } end
            contact_info = { admin = { "xmpp:admin@" .. ("localhost"):upper():lower() } }
            Include "conf.d/*.cfg.lua"

            VirtualHost
            """);
        await File.WriteAllTextAsync(server.ConfigPath, rendered);

        Environment.SetEnvironmentVariable("LUAXMPP_TEST_CONFIG_DIR", server.Directory);
        try
        {
            var check = await server.RunCliAsync("check", "config");
            await server.StartAsync();
            await server.RegisterAsync("included", "included-pass");
            var login = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("included"), "--password", "included-pass");

            server.Check(() => Assert.True(check.ExitCode == 0, check.ToString()));
            login.Check(r => Assert.True(r.Ok));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LUAXMPP_TEST_CONFIG_DIR", null);
        }
    }

    [Fact]
    public async Task CertGenerateForce_ThenReload_NewConnectionsGetTheNewCertificate()
    {
        await using var server = await ServerProcess.StartAsync(output);
        var before = await PresentedCertificateAsync(server);

        var generate = await server.RunCliAsync("cert", "generate", server.Host, "--force");
        var stillOld = await PresentedCertificateAsync(server);
        var reload = await server.RunCliAsync("reload");
        string? after = null;
        for (var i = 0; i < 100 && (after is null || after == before); i++)
        {
            await Task.Delay(100);
            after = await PresentedCertificateAsync(server);
        }

        server.Check(() =>
        {
            Assert.True(generate.ExitCode == 0, generate.ToString());
            Assert.True(reload.ExitCode == 0, reload.ToString());
            Assert.Equal(before, stillOld);
            Assert.NotEqual(before, after);
            Assert.Equal(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(server.Directory, "certs", server.Host + ".crt")).Thumbprint, after);
        });
    }

    private static async Task<string> PresentedCertificateAsync(ServerProcess server)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.DirectTlsPort);
        string? presented = null;
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            presented = certificate?.GetCertHashString();
            return true;
        });
        await tls.AuthenticateAsClientAsync(server.Host);
        return presented!;
    }
}
