using BenchmarkDotNet.Attributes;
using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// The pass of one message from a bound session to another's full JID through the router with
/// the module set a deployment enables (bench/compare --deployment: roster saslauth tls disco
/// ping carbons csi_simple blocklist smacks mam offline register; our mod_mam and mod_smacks,
/// Prosody's mod_csi_simple and mod_csi files, the rest native), with bench/compare's archive
/// options. "headline" is routed and not archived (XEP-0313 §5: the server decides; Prosody's
/// rules skip headlines); "chat" is archived twice (sender's and recipient's archive).
/// </summary>
[MemoryDiagnoser]
public class PassDeploymentBenchmarks
{
    private const int Batch = 1000;
    private const string Host = "localhost";
    private static readonly string[] DeploymentSet =
        ["roster", "saslauth", "tls", "disco", "ping", "carbons", "csi_simple", "blocklist", "smacks", "mam", "offline", "register"];

    [Params("headline", "chat")]
    public string Type { get; set; } = "headline";

    private ServerLoop _loop = null!;
    private XmppServer _server = null!;
    private LuaRuntime _runtime = null!;
    private ClientSession _alice = null!;
    private CountingConnection _bob = null!;
    private XmlElement _message = null!;
    private string _plugins = null!;
    private string _data = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-deploy-").FullName;
        _data = Directory.CreateTempSubdirectory("luaxmpp-deploy-data-").FullName;
        var root = RepositoryRoot();
        foreach (var file in Directory.GetFiles(Path.Combine(root, "modules", "mod_mam")))
        {
            Directory.CreateDirectory(Path.Combine(_plugins, "mod_mam"));
            File.Copy(file, Path.Combine(_plugins, "mod_mam", Path.GetFileName(file)));
        }
        File.Copy(Path.Combine(root, "modules", "mod_smacks.lua"), Path.Combine(_plugins, "mod_smacks.lua"));
        foreach (var file in new[] { "mod_csi_simple.lua", "mod_csi.lua" })
            File.Copy(Path.Combine("/usr/lib/prosody/modules", file), Path.Combine(_plugins, file));
        var global = new Dictionary<string, object?>
        {
            ["storage"] = Environment.GetEnvironmentVariable("PASS_STORAGE") ?? "sql",
            ["sql"] = SqlTable(Path.Combine(_data, "bench.sqlite")),
            ["archive_expires_after"] = "never",
            ["default_archive_policy"] = true,
        };
        var config = new ServerConfig(null, global, [new HostConfig(Host, HostKind.VirtualHost, null, new Dictionary<string, object?>())]);
        _loop = new ServerLoop();
        _loop.Start();
        var storage = new StorageManager(config, _data);
        var auth = new InternalPlainProvider(Host, storage);
        _server = new XmppServer(config, _loop, storage, _ => auth);
        NativeModules.RegisterAll(_server.Modules);
        await _loop.InvokeAsync(() =>
        {
            var host = _server.ActivateHost(config.Hosts[0]);
            _runtime = new LuaRuntime(_server, [_plugins]);
            _server.Modules.Runtime = _runtime;
            var set = Environment.GetEnvironmentVariable("PASS_MODULES")?.Split(',') ?? DeploymentSet;
            // As the server does: Prosody's autoloaded modules (mod_message delivers), then the set.
            foreach (var module in ModuleManager.AutoloadModules.Concat(set).Distinct())
            {
                if (_server.Modules.Load(host, module) is { } error) throw new InvalidOperationException($"mod_{module}: {error}");
            }
        });
        await auth.CreateUserAsync("alice", "a");
        await auth.CreateUserAsync("bob", "b");
        _alice = await BindAsync("alice", "laptop", new CountingConnection());
        _bob = new CountingConnection();
        await BindAsync("bob", "phone", _bob);
        _message = new XmlElement("message", Namespaces.Client)
            .SetAttribute("to", "bob@localhost/phone").SetAttribute("type", Type).SetAttribute("id", "m1");
        _message.AddTextChild("body", "Are we still meeting at noon? I can bring the slides.");
        if (Environment.GetEnvironmentVariable("PASS_CHAINS") is not null) PrintChains();
        Pass(); // warm-up: session runners, rosters, blocklists, archive preferences
    }

    // PASS_CHAINS=1: which handlers (module, Lua or C#, priority) the message's pass meets.
    private void PrintChains()
    {
        var bus = _server.FindHost(Host)!.Events;
        foreach (var name in new[] { "pre-stanza", "pre-message/full", "message/full", "archive-should-store", "carbons-should-copy", "csi-is-stanza-important" })
        {
            foreach (var entry in bus.Handlers(name))
            {
                var kind = entry.Callback.Target?.GetType().Name == "LuaHandler" ? "Lua" : "C#";
                Console.Error.WriteLine($"{name}\t{entry.Priority}\t{kind}\t{entry.Owner}");
            }
        }
    }

    private static ConfigTable SqlTable(string database)
    {
        var table = new ConfigTable();
        table.Hash["driver"] = "SQLite3";
        table.Hash["database"] = database;
        return table;
    }

    private async Task<ClientSession> BindAsync(string user, string resource, CountingConnection connection)
    {
        var session = await _loop.InvokeAsync(() =>
        {
            var s = new ClientSession(Host, connection) { Username = user, Type = "c2s_unbound" };
            _server.Sessions.Register(s);
            return s;
        });
        StanzaError? error = null;
        await _loop.InvokeAsync(async () => { error = await _server.Sessions.BindAsync(session, resource); });
        if (error is not null) throw new InvalidOperationException("bind failed: " + error);
        return session;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "pass with the deployment module set, full JID, delivered")]
    public int Pass()
    {
        var before = _bob.Count;
        int waited = 0;
        _loop.InvokeAsync(() => ThreadCpu.Measure(() =>
        {
            for (var i = 0; i < Batch; i++)
            {
                var pass = _server.Router.ProcessAsync(_alice, _message.Clone());
                if (!pass.IsCompletedSuccessfully) waited++;
            }
        })).GetAwaiter().GetResult();
        // Passes that waited (storage) finish on later loop turns; wait for them outside the batch.
        for (int i = 0; i < 1000 && _bob.Count - before < Batch; i++) Thread.Sleep(10);
        var delivered = _bob.Count - before;
        if (delivered != Batch) throw new InvalidOperationException($"delivered {delivered} of {Batch} ({waited} waited)");
        return waited;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _loop.InvokeAsync(() => _runtime.Dispose()).GetAwaiter().GetResult();
        _loop.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_plugins, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "modules", "mod_smacks.lua")) && File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root (modules/) not found above " + AppContext.BaseDirectory);
    }
}
