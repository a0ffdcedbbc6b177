using System.Text.Json;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// storage = "internal" on one data_path, handed between the real Prosody 0.12 (Debian package,
/// its own mod_mam and mod_offline) and LuaXmpp: what one server wrote, the other reads
/// unchanged — accounts, rosters, offline messages, MAM archives with their ids.
/// </summary>
public sealed class ProsodyDataTests(ITestOutputHelper output)
{
    private const string Password = "pw \"é\" 1";

    [Fact]
    public async Task DataWrittenByProsody_OpensInLuaXmpp_AndBack()
    {
        await using var server = await ServerProcess.CreateAsync(output, config => config
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "offline", "mam"))
            .Set("storage", ServerConfig.Lua("internal")));
        await UseAsync(server, ServerFlavor.Prosody);
        foreach (var user in new[] { "alice", "bob" }) await server.RegisterAsync(user, Password);
        await server.StartAsync();

        var seeded = (await RunAsync(server, "seed")).AssertOk();
        await server.StopAsync();
        var prosodyArchive = Archive(seeded);
        server.Check(() =>
        {
            Assert.Equal(["archived 1", "archived 2", "archived 3", "while you were away"], prosodyArchive.Select(i => i.Body));
            // Prosody's own files, not a database: what LuaXmpp must read.
            foreach (var file in new[] { "accounts/alice.dat", "roster/alice.dat", "archive/alice.list", "offline/bob.list" })
            {
                Assert.True(File.Exists(Path.Combine(server.DataPath, "localhost", file)), file + " not written by Prosody");
            }
            Assert.False(File.Exists(Path.Combine(server.DataPath, "prosody.sqlite")));
        });

        // LuaXmpp on the same directory and config; its CLI writes one more account.
        await UseAsync(server, ServerFlavor.LuaXmpp);
        await server.RegisterAsync("carol", Password);
        await server.StartAsync();
        var read = (await RunAsync(server, "read")).AssertOk();
        read.Check(r =>
        {
            Assert.Equal("both", r.Root.GetProperty("roster").GetProperty("bob@localhost").GetProperty("subscription").GetString());
            Assert.Equal("both", r.Root.GetProperty("b_roster").GetProperty("alice@localhost").GetProperty("subscription").GetString());
            Assert.Equal(["while you were away"], r.Strings("offline"));
            Assert.Equal(prosodyArchive, Archive(r));
        });
        var written = (await RunAsync(server, "write")).AssertOk();
        await server.StopAsync();
        var luaxmppArchive = Archive(written);
        written.Check(_ =>
        {
            Assert.Equal(prosodyArchive, luaxmppArchive.Take(prosodyArchive.Count));
            Assert.Equal(["to carol 1", "to carol 2"], luaxmppArchive.Skip(prosodyArchive.Count).Select(i => i.Body));
            Assert.False(File.Exists(Path.Combine(server.DataPath, "prosody.sqlite")), "LuaXmpp wrote to SQLite, not to the flat files");
        });

        // Back to Prosody: the account LuaXmpp created logs in, the roster change and the new archive items are there.
        await UseAsync(server, ServerFlavor.Prosody);
        await server.StartAsync();
        var back = (await RunAsync(server, "read")).AssertOk();
        back.Check(r =>
        {
            var roster = r.Root.GetProperty("roster");
            Assert.Equal("both", roster.GetProperty("bob@localhost").GetProperty("subscription").GetString());
            Assert.Equal("Dave é", roster.GetProperty("dave@localhost").GetProperty("name").GetString());
            Assert.Equal(luaxmppArchive, Archive(r));
            Assert.Empty(r.Strings("offline")); // delivered (and deleted) by LuaXmpp
        });
        var carol = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("carol"), "--password", Password);
        carol.AssertOk();
    }

    private static async Task UseAsync(ServerProcess server, ServerFlavor flavor)
    {
        server.Flavor = flavor;
        if (flavor.IsProsody)
        {
            flavor.Adapt(server.Config, server.Directory);
            await flavor.PrepareAsync(server.Config, server.Directory);
        }
        await server.WriteConfigAsync();
    }

    private static Task<ClientResult> RunAsync(ServerProcess server, string phase) => PythonClient.RunAsync(server, "prosody_data.py",
        "--phase", phase, "--timeout", "40",
        "--jid1", server.Jid("alice"), "--password1", Password,
        "--jid2", server.Jid("bob"), "--password2", Password,
        "--jid3", server.Jid("carol"), "--password3", Password,
        "--jid4", server.Jid("dave"));

    private static List<ArchivedMessage> Archive(ClientResult result) =>
        result["archive"].EnumerateArray().Select(i => new ArchivedMessage(i[0].GetString()!, i[1].GetString()!)).ToList();

    private sealed record ArchivedMessage(string Id, string Body);
}
