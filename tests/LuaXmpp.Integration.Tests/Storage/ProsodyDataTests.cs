using System.Text.Json;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.ProsodyModules;
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

    /// <summary>Loads two data files the way util.datamanager does and compares their values deeply.</summary>
    private const string CompareLua = """
        local function read(path)
            local items = {}
            local f = assert(io.open(path, "rb")); local text = f:read("a"); f:close()
            local chunk = assert(load(text, "=" .. path, "t", { item = function(i) items[#items + 1] = i end }))
            local value = chunk()
            if path:match("%.list$") then return items end
            return value
        end
        local function same(a, b, where)
            if type(a) ~= "table" or type(b) ~= "table" then
                if a ~= b then error(where .. ": " .. tostring(a) .. " ~= " .. tostring(b)) end
                return
            end
            for k, v in pairs(a) do same(v, b[k], where .. "/" .. tostring(k)) end
            for k, v in pairs(b) do if a[k] == nil then error(where .. "/" .. tostring(k) .. " only in the second") end end
        end
        same(read(arg[1]), read(arg[2]), arg[2])
        print("same")
        """;

    [Fact]
    public async Task DataWrittenByProsody_OpensInLuaXmpp_AndBack()
    {
        var (server, seeded) = await SeedWithProsodyAsync();
        await using var disposing = server;
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

    [PostgresFact]
    public async Task Migrate_InternalToSqliteToPostgresToInternal_KeepsEverything()
    {
        var seeded = await SeedWithProsodyAsync();
        await using var server = seeded.Server;
        await using var postgres = await PostgresServer.StartAsync();
        var hostData = Path.Combine(server.DataPath, "localhost");
        var original = Path.Combine(server.Directory, "original");
        Directory.Move(hostData, original);
        CopyTree(original, hostData);
        await UseAsync(server, ServerFlavor.LuaXmpp);
        // The same config with its sql option on PostgreSQL (set before the VirtualHost: a global option).
        var pgConfig = Path.Combine(server.Directory, "postgres.cfg.lua");
        await File.WriteAllTextAsync(pgConfig, server.Config.Render().Replace("\nVirtualHost",
            $"\nstorage = \"sql\"\nsql = {postgres.SqlOption()}\nVirtualHost"));

        var toSql = await server.RunCliAsync("migrate", "--from", "internal", "--to", "sql");
        var toPostgres = await server.RunCliAsync("migrate", "--from", "sql", "--to", "sql", "--to-config", pgConfig);
        Directory.Delete(hostData, recursive: true);
        var back = await server.RunCliAsync("migrate", "--from", "sql", "--from-config", pgConfig, "--to", "internal", "localhost");
        var rows = await postgres.PsqlAsync("""SELECT count(*) FROM "prosodyarchive" WHERE "host" = 'localhost'""");
        var same = await server.RunCliAsync("migrate", "--from", "internal", "--to", "internal");
        var unknownHost = await server.RunCliAsync("migrate", "--from", "sql", "--to", "internal", "nowhere.example");

        server.Check(() =>
        {
            Assert.True(toSql.ExitCode == 0, toSql.ToString());
            Assert.Matches(@"^localhost: copied \d+ keyval tables and 3 archives \(9 items\) from internal to sql", toSql.Stdout);
            Assert.True(toPostgres.ExitCode == 0, toPostgres.ToString());
            Assert.Matches(@"^localhost: copied \d+ keyval tables and 3 archives \(9 items\) from sql to sql \(.*postgres\.cfg\.lua\)", toPostgres.Stdout);
            Assert.Equal("9", rows.Trim());
            Assert.True(back.ExitCode == 0, back.ToString());
            Assert.Matches(@"^localhost: copied \d+ keyval tables and 3 archives \(9 items\) from sql \(.*\) to internal", back.Stdout);
            Assert.Equal(Files(original), Files(hostData));
            Assert.True(same.ExitCode == 2, same.ToString());
            Assert.True(unknownHost.ExitCode == 1 && unknownHost.Stderr.Contains("nowhere.example"), unknownHost.ToString());
        });
        foreach (var file in Files(original))
        {
            var compared = await ChildProcess.RunAsync("lua5.4", ["-e", CompareLua, "-", Path.Combine(original, file), Path.Combine(hostData, file)],
                server.Directory, TimeSpan.FromSeconds(30), "");
            server.Check(() => Assert.True(compared.ExitCode == 0 && compared.Stdout.Trim() == "same", file + ": " + compared));
        }

        // And Prosody serves the round-tripped data as before.
        await UseAsync(server, ServerFlavor.Prosody);
        await server.StartAsync();
        var read = (await RunAsync(server, "read")).AssertOk();
        read.Check(r =>
        {
            Assert.Equal(Archive(seeded.Seeded), Archive(r));
            Assert.Equal(["while you were away"], r.Strings("offline"));
            Assert.Equal("both", r.Root.GetProperty("roster").GetProperty("bob@localhost").GetProperty("subscription").GetString());
        });
    }

    [Theory]
    [InlineData("private", "private/alice.dat", false)]
    [InlineData("blocklist", "blocklist/alice.dat", true)]
    public async Task ProsodysOwnModules_OnInternalStorage_WriteFilesProsodyLoads(string module, string file, bool peer)
    {
        using var plugins = ProsodyPluginDirectory.With($"mod_{module}.lua");
        await using var server = await ServerProcess.StartAsync(output, config => config
            .Set("plugin_paths", ServerConfig.LuaList(plugins.Path))
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "offline", module))
            .Set("storage", ServerConfig.Lua("internal")));
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        List<string> arguments = ["--scenario", module, "--jid", server.Jid("alice"), "--password", "pass-alice"];
        if (peer) arguments.AddRange(["--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob"]);

        var result = await PythonClient.RunAsync(server, "prosody_modules.py", [.. arguments]);
        await server.StopAsync();

        result.AssertOk();
        var path = Path.Combine(server.DataPath, "localhost", file);
        server.Check(() => Assert.True(File.Exists(path), path + " not written"));
        // util.datamanager's load: the file is a chunk run with an empty environment.
        var loaded = await ChildProcess.RunAsync("lua5.4", ["-e", "local f = assert(io.open(arg[1])); local t = assert(load(f:read('a'), '=f', 't', {}))(); print(type(t))", "-", path],
            server.Directory, TimeSpan.FromSeconds(30), "");
        server.Check(() => Assert.True(loaded.Stdout.Trim() == "table", loaded.ToString()));
    }

    /// <summary>Prosody (storage = "internal", its mod_mam and mod_offline) with alice and bob after the "seed" phase, stopped.</summary>
    private async Task<(ServerProcess Server, ClientResult Seeded)> SeedWithProsodyAsync()
    {
        var server = await ServerProcess.CreateAsync(output, config => config
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "offline", "mam"))
            .Set("storage", ServerConfig.Lua("internal")));
        try
        {
            await UseAsync(server, ServerFlavor.Prosody);
            foreach (var user in new[] { "alice", "bob" }) await server.RegisterAsync(user, Password);
            await server.StartAsync();
            var seeded = (await RunAsync(server, "seed")).AssertOk();
            await server.StopAsync();
            return (server, seeded);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static List<string> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToList();

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Files(from))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, file))!);
            File.Copy(Path.Combine(from, file), Path.Combine(to, file));
        }
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
