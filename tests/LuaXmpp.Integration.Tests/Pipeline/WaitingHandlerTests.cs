using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Pipeline;

/// <summary>
/// One server with mod_mam and a test module whose handlers wait on a timer (util.async) before
/// they add to what C# then sends or decides; one slixmpp client run records what arrived, and
/// each test reads its part of it.
/// </summary>
public sealed class WaitingHandlerServer : IAsyncLifetime
{
    public const string Password = "pw-waiting";

    // Every handler waits first, as one that reads slow storage does.
    private const string WaitingModule = """
        local async = require "util.async";

        local function pause()
            local wait, done = async.waiter();
            module:add_timer(0.05, function() done(); end);
            wait();
        end

        module:hook("stream-features", function(event)
            pause();
            event.features:tag("waited", { xmlns = "urn:test:waited" }):up();
        end, 5);

        module:hook("account-disco-info", function(event)
            pause();
            event.reply:tag("feature", { var = "urn:test:waited:account" }):up();
        end);

        module:hook("host-disco-items", function(event)
            pause();
            event.reply:tag("item", { jid = "waited.example", name = "added after a wait" }):up();
        end);

        module:hook("archive-should-store", function(event)
            local body = event.stanza:get_child_text("body");
            if body and body:find("^unarchived") then
                pause();
                return false;
            end
        end, 5);
        """;

    private Task<ClientResult>? _run;

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>Under the Prosody flavour these handlers are not in a runner (Prosody fires these events outside its stanza runner).</summary>
    public bool Skipped { get; private set; }

    public async Task InitializeAsync()
    {
        if (ServerFlavor.Current.IsProsody)
        {
            Skipped = true;
            return;
        }
        Server = await ServerProcess.CreateAsync(null, config => config.Set("modules_enabled",
            ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "offline", "mam", "waiting_probe")));
        var plugins = Directory.CreateDirectory(Path.Combine(Server.Directory, "plugins")).FullName;
        await File.WriteAllTextAsync(Path.Combine(plugins, "mod_waiting_probe.lua"), WaitingModule);
        Server.Config.Set("plugin_paths", ServerConfig.LuaList(plugins));
        await Server.WriteConfigAsync();
        await Server.RegisterAsync("waiter", Password);
        await Server.RegisterAsync("peer", Password);
        await Server.StartAsync();
    }

    /// <summary>
    /// The client's one run (login, disco, three messages, a MAM query), shared by the tests; a
    /// part without an answer is left out of the result (step_errors says why), the rest still runs.
    /// </summary>
    public Task<ClientResult> RunAsync() => _run ??= PythonClient.RunAsync(Server, "waiting_handlers.py",
        "--jid", Server.Jid("waiter"), "--password", Password, "--peer-jid", Server.Jid("peer"), "--step-timeout", "5");

    public async Task DisposeAsync()
    {
        if (!Skipped) await Server.DisposeAsync();
    }
}

/// <summary>
/// Issue 11 point 1: "any handler, Lua or C#, may wait; the pipeline then suspends and continues
/// afterwards". A C# caller that uses a chain's outcome (the features it sends, the archive
/// decision, the disco reply it builds) goes on only after a Lua handler that waited has finished.
/// </summary>
public sealed class WaitingHandlerTests(WaitingHandlerServer fixture) : IClassFixture<WaitingHandlerServer>
{
    [Fact]
    public async Task StreamFeatures_IncludeWhatAWaitingHandlerAdded()
    {
        if (fixture.Skipped) return;
        var result = (await fixture.RunAsync()).AssertOk();
        result.Check(r =>
        {
            var offered = r["stream_features"].EnumerateArray().Select(f => f.EnumerateArray().Select(e => e.GetString()).ToArray()).ToArray();
            Assert.NotEmpty(offered);
            // Every features element (before and after authentication) carries it.
            Assert.All(offered, features => Assert.Contains("{urn:test:waited}waited", features));
        });
    }

    [Fact]
    public async Task ArchiveShouldStore_AWaitingHandlersRefusal_IsHonoured()
    {
        if (fixture.Skipped) return;
        var result = (await fixture.RunAsync()).AssertOk();
        result.Check(r => Assert.Equal(["archived-1", "archived-2"], r.Strings("archive")));
    }

    [Fact]
    public async Task DiscoReplies_AreSentAfterWaitingHandlersAddedToThem()
    {
        if (fixture.Skipped) return;
        var result = (await fixture.RunAsync()).AssertOk();
        result.Check(r =>
        {
            Assert.Contains("urn:test:waited:account", r.Strings("account_features"));
            Assert.Contains("waited.example", r.Strings("host_items"));
        });
    }
}
