using System.Diagnostics;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Npgsql;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// One PostgreSQL and one server (storage = "sql" on it) for <see cref="AsyncLoadTests"/>, with
/// two test modules of ours: mod_asyncload_timer (enabled from the start: its load stores a value,
/// and an iq starts a timer whose callback reads it) and mod_asyncload_probe (enabled by a config
/// reload: its module.load reads that value, then hooks an iq that answers with it).
/// </summary>
public sealed class AsyncLoadServer : IAsyncLifetime
{
    public const string LoadNs = "urn:example:asyncload:load";
    public const string TimerNs = "urn:example:asyncload:timer";
    public static readonly string[] Modules = ["roster", "saslauth", "tls", "disco", "ping", "asyncload_timer"];

    private const string ProbeModule = """
        local st = require "util.stanza";
        local store = module:open_store("asyncload");
        function module.load()
            module:log("info", "asyncload_probe reads its store while loading");
            local data, err = store:get("probe");
            local value = data and data.value or ("nothing: " .. tostring(err));
            module:hook("iq-get/host/urn:example:asyncload:load:query", function(event)
                event.origin.send(st.reply(event.stanza):tag("query", { xmlns = "urn:example:asyncload:load" }):text(value));
                return true;
            end);
        end
        """;

    // The timer's first run reads storage (it waits while the table is locked) and reschedules
    // itself; the second run reads again and tells the asker.
    private const string TimerModule = """
        local st = require "util.stanza";
        local store = module:open_store("asyncload");
        function module.load()
            store:set("probe", { value = "seeded" });
        end
        module:hook("iq-set/host/urn:example:asyncload:timer:query", function(event)
            local origin, stanza = event.origin, event.stanza;
            local asker, runs = origin.full_jid, 0;
            module:add_timer(0, function()
                runs = runs + 1;
                module:log("info", "asyncload_timer run %d reads its store", runs);
                local data = store:get("probe");
                if runs < 2 then return 0.05; end
                module:send(st.message({ to = asker, from = module.host, type = "chat" })
                    :tag("body"):text(("timer ran %d times: %s"):format(runs, tostring(data and data.value))));
            end);
            origin.send(st.reply(stanza));
            return true;
        end);
        """;

    private string? _plugins;

    public PostgresServer? Postgres { get; private set; }

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>Set when the fixture could not run here (no PostgreSQL, or the Prosody flavour, whose SQL waits on its loop).</summary>
    public bool Skipped { get; private set; }

    public async Task InitializeAsync()
    {
        if (PostgresServer.Unavailable is not null || ServerFlavor.Current.IsProsody)
        {
            Skipped = true;
            return;
        }
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-asyncload-").FullName;
        File.WriteAllText(Path.Combine(_plugins, "mod_asyncload_probe.lua"), ProbeModule);
        File.WriteAllText(Path.Combine(_plugins, "mod_asyncload_timer.lua"), TimerModule);
        Postgres = await PostgresServer.StartAsync();
        var pg = Postgres;
        Server = await ServerProcess.StartAsync(null, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(_plugins));
            config.Set("modules_enabled", ServerConfig.LuaList(Modules));
            config.Set("storage", ServerConfig.Lua("sql"));
            config.Set("sql", pg.SqlOption());
        });
        await Server.RegisterAsync("bystander", "pass-bystander");
        await Server.RegisterAsync("asker", "pass-asker");
    }

    /// <summary>A client logged in as <paramref name="user"/> (before any lock: login reads storage).</summary>
    public async Task<XmppSocketClient> LoginAsync(string user)
    {
        var client = await XmppSocketClient.ConnectAsync(Server.C2sPort);
        await client.LoginAsync(Server.Host, user, "pass-" + user, presence: false);
        return client;
    }

    /// <summary>Holds an ACCESS EXCLUSIVE lock on the store table until disposed: every storage call waits meanwhile.</summary>
    public async Task<NpgsqlTransaction> LockStoreTableAsync()
    {
        var connection = new NpgsqlConnection(Postgres!.ConnectionString());
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("LOCK TABLE prosody IN ACCESS EXCLUSIVE MODE", connection, transaction);
        await command.ExecuteNonQueryAsync();
        return transaction;
    }

    public async Task DisposeAsync()
    {
        if (Skipped) return;
        await Server.DisposeAsync();
        if (Postgres is not null) await Postgres.DisposeAsync();
        if (_plugins is not null) Directory.Delete(_plugins, recursive: true);
    }
}

/// <summary>
/// Issue 11 point 4, "I/O suspends, never blocks": a module whose load waits for SQL storage held
/// by a lock, and a timer callback that waits for it, suspend their runners; the loop meanwhile
/// answers a bystander's ping, and both finish once the lock is released.
/// </summary>
public sealed class AsyncLoadTests(AsyncLoadServer fixture, ITestOutputHelper output) : IClassFixture<AsyncLoadServer>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private ServerProcess Server => fixture.Server;

    [PostgresFact]
    public async Task ModuleLoadWaitingOnALockedTable_DoesNotStallTheLoop_AndLoadsOnceReleased()
    {
        if (fixture.Skipped) return;
        await using var bystander = await fixture.LoginAsync("bystander");
        await using (var transaction = await fixture.LockStoreTableAsync())
        {
            Server.Config.Set("modules_enabled", ServerConfig.LuaList([.. AsyncLoadServer.Modules, "asyncload_probe"]));
            await Server.WriteConfigAsync();
            var reload = await Server.RunCliAsync("reload");
            Assert.True(reload.ExitCode == 0, reload.ToString());
            await WaitForLogAsync("asyncload_probe reads its store while loading");

            // The load waits on the lock: the loop still serves the bystander, and the module
            // is not loaded yet (its iq is not hooked).
            var (answered, elapsed) = await TimedPingAsync(bystander, "p1");
            output.WriteLine($"ping while the load waits: {elapsed.TotalMilliseconds:0.0} ms");
            var early = await AskAsync(bystander, "get", AsyncLoadServer.LoadNs, "q1");
            Server.Check(() =>
            {
                Assert.True(answered, "the bystander's ping was not answered while a module load waited on storage");
                Assert.Equal("error", (string?)early.Attribute("type"));
                Assert.DoesNotContain("Loaded mod_asyncload_probe", Server.LogTail(100_000));
            });
            await transaction.RollbackAsync();
        }

        await WaitForLogAsync("Loaded mod_asyncload_probe on localhost");
        var reply = await AskAsync(bystander, "get", AsyncLoadServer.LoadNs, "q2");
        Server.Check(() =>
        {
            Assert.Equal("result", (string?)reply.Attribute("type"));
            Assert.Equal("seeded", reply.Element(XName.Get("query", AsyncLoadServer.LoadNs))?.Value);
            Assert.DoesNotContain("Error loading module 'asyncload_probe'", Server.LogTail(100_000));
        });
    }

    [PostgresFact]
    public async Task TimerWaitingOnALockedTable_DoesNotStallTheLoop_AndReschedulesOnceReleased()
    {
        if (fixture.Skipped) return;
        await using var bystander = await fixture.LoginAsync("bystander");
        await using var asker = await fixture.LoginAsync("asker");
        var runsBefore = CountInLog("asyncload_timer run 1 reads its store");
        await using (var transaction = await fixture.LockStoreTableAsync())
        {
            var started = await AskAsync(asker, "set", AsyncLoadServer.TimerNs, "t1");
            Assert.Equal("result", (string?)started.Attribute("type"));
            await WaitForLogAsync("asyncload_timer run 1 reads its store", runsBefore + 1);

            var (answered, elapsed) = await TimedPingAsync(bystander, "p2");
            output.WriteLine($"ping while the timer waits: {elapsed.TotalMilliseconds:0.0} ms");
            Server.Check(() =>
            {
                Assert.True(answered, "the bystander's ping was not answered while a timer waited on storage");
                Assert.Equal(runsBefore, CountInLog("asyncload_timer run 2 reads its store"));
            });
            await transaction.RollbackAsync();
        }

        var message = await asker.WaitForAsync(e => e.Name.LocalName == "message", "the timer's message", Generous);
        Server.Check(() => Assert.Equal("timer ran 2 times: seeded", message.Element(XmppSocketClient.Client + "body")?.Value));
    }

    private static async Task<(bool Answered, TimeSpan Elapsed)> TimedPingAsync(XmppSocketClient client, string id)
    {
        var clock = Stopwatch.StartNew();
        // Generous: a loop that waited for the lock would not answer at all while it is held.
        var answered = await client.PingAsync("localhost", id, Generous);
        return (answered, clock.Elapsed);
    }

    private static async Task<XElement> AskAsync(XmppSocketClient client, string type, string ns, string id)
    {
        await client.SendAsync($"<iq type='{type}' id='{id}' to='localhost'><query xmlns='{ns}'/></iq>");
        return await client.WaitForAsync(e => (string?)e.Attribute("id") == id, $"reply to {id}", Generous);
    }

    private int CountInLog(string text)
    {
        var log = File.Exists(Server.LogPath) ? File.ReadAllText(Server.LogPath) : "";
        int count = 0;
        for (int i = log.IndexOf(text, StringComparison.Ordinal); i >= 0; i = log.IndexOf(text, i + text.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private async Task WaitForLogAsync(string text, int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (CountInLog(text) < count)
        {
            if (clock.Elapsed > Generous) throw new Xunit.Sdk.XunitException($"log never showed '{text}'\n{Server.Describe()}");
            await Task.Delay(50);
        }
    }
}
