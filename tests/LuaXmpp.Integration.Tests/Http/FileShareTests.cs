using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.ProsodyModules;
using Xunit;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// Prosody 0.12's own mod_http_file_share (XEP-0363), unmodified from the Debian package, as an
/// upload component on the real server: a slixmpp client gets a slot, PUTs a file, GETs back the
/// same bytes; a slot bigger than the limit is refused, a forged token is refused.
/// </summary>
public sealed class FileShareTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Slot_put_and_get_return_identical_bytes_and_the_limit_holds()
    {
        // mod_cron comes from the package too while the server has no cron of its own.
        using var plugins = ProsodyPluginDirectory.With("mod_http_file_share.lua", "mod_cron.lua");
        var httpPort = FreePorts.Take(1)[0];
        await using var server = await ServerProcess.StartAsync(output, c =>
        {
            c.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            c.Set("http_ports", $"{{ {httpPort} }}");
            c.Set("https_ports", "{ }");
            c.Set("http_file_share_size_limit", "200000");
            c.ExtraSections.Add("Component \"upload.localhost\" \"http_file_share\"");
        });
        await HttpServerFixture.WaitForPortAsync(httpPort, server);
        await server.RegisterAsync("alice", "pass-alice");

        var result = await PythonClient.RunAsync(server, "http_upload.py", "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--service", "upload.localhost", "--http-port", httpPort.ToString(), "--size", "150000", "--too-big", "200001");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.StartsWith($"http://upload.localhost:{httpPort}/file_share/", r.String("put_url"));
            Assert.Equal(r.String("put_url"), r.String("get_url"));
            Assert.Contains("Authorization", r.Strings("put_headers"));
            Assert.Equal(401, r["forged_put"].GetInt32());
            Assert.Equal(201, r["put_status"].GetInt32());
            Assert.Equal(200, r["get_status"].GetInt32());
            Assert.True(r["get_identical"].GetBoolean());
            Assert.Equal(["not-acceptable", "file-too-large"], r.Strings("too_big"));
        });
    }
}
