using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// One PostgreSQL database, two servers in turn: the real Prosody 0.12.3 (its own
/// mod_storage_sql through lua-dbi-postgresql, its own mod_mam) and LuaXmpp. What the first one
/// wrote (accounts registered with its CLI, a roster subscription and archived messages sent by a
/// slixmpp client), the second serves unchanged: the logins work, the rosters read "both", and
/// the archive lists the same items with the same ids.
/// </summary>
public sealed class ProsodyPostgresInteropTests(ITestOutputHelper output)
{
    private const string Password = "pw-interop";
    private const int Messages = 12;

    [PostgresFact]
    public Task Prosody_writes_and_LuaXmpp_reads() => HandOverAsync(ServerFlavor.Prosody, ServerFlavor.LuaXmpp);

    [PostgresFact]
    public Task LuaXmpp_writes_and_Prosody_reads() => HandOverAsync(ServerFlavor.LuaXmpp, ServerFlavor.Prosody);

    private async Task HandOverAsync(ServerFlavor writer, ServerFlavor reader)
    {
        await using var pg = await PostgresServer.StartAsync();
        string[] written;
        await using (var first = await StartAsync(pg, writer, register: true))
        {
            var result = await RunAsync(first, "write");
            first.Check(() =>
            {
                result.AssertOk();
                Assert.Equal("both", Subscription(result, "a_roster", "bob"));
                Assert.Equal(Enumerable.Range(0, Messages).Select(i => $"interop-{i}"), Archive(result).Select(e => e.Split(' ')[1]));
            });
            written = Archive(result);
            await first.StopAsync();
        }

        await using var second = await StartAsync(pg, reader, register: false);
        var read = await RunAsync(second, "read");
        second.Check(() =>
        {
            read.AssertOk();
            Assert.Equal("both", Subscription(read, "a_roster", "bob"));
            Assert.Equal("both", Subscription(read, "b_roster", "alice"));
            Assert.Equal(written, Archive(read));
        });
    }

    private async Task<ServerProcess> StartAsync(PostgresServer pg, ServerFlavor flavor, bool register)
    {
        var server = await ServerProcess.CreateAsync(output, config =>
        {
            config.Set("storage", ServerConfig.Lua("sql"))
                .Set("sql", pg.SqlOption())
                .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam"));
        }, flavor);
        try
        {
            await server.WriteConfigAsync();
            if (register)
            {
                await server.RegisterAsync("alice", Password);
                await server.RegisterAsync("bob", Password);
            }
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Task<ClientResult> RunAsync(ServerProcess server, string phase) =>
        PythonClient.RunAsync(server, "archive_interop.py", "--jid1", server.Jid("alice"), "--password1", Password,
            "--jid2", server.Jid("bob"), "--password2", Password, "--phase", phase, "--count", Messages.ToString());

    private static string? Subscription(ClientResult result, string roster, string user) =>
        result[roster].TryGetProperty($"{user}@localhost", out var item) ? item.GetProperty("subscription").GetString() : null;

    /// <summary>"id body" per archived item, oldest first.</summary>
    private static string[] Archive(ClientResult result) =>
        result["archive"].EnumerateArray().Select(e => e[0].GetString() + " " + e[1].GetString()).ToArray();
}
