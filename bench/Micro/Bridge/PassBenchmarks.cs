using BenchmarkDotNet.Attributes;
using LuaXmpp.Accounts;
using LuaXmpp.Bench.Micro;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Bench.Bridge;

/// <summary>
/// The whole pass of a headline message (not archived) from one bound session to another's full
/// JID through the router (pre-message/full, message/full, delivery), in process, with the module
/// sets of issue 11: mod_message alone; + our mod_mam (Lua); + carbons and blocklist as Prosody's
/// files (the deployment set of bench/compare before native ones) or as our native modules.
/// Each operation clones the message (~0.3 µs) because the router stamps it.
/// </summary>
[MemoryDiagnoser]
public class PassBenchmarks
{
    private const int Batch = 1000;
    private const string Host = "localhost";

    [Params("message", "mam", "mam+prosody-carbons-blocklist", "mam+native-carbons-blocklist")]
    public string Modules { get; set; } = "message";

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
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-pass-").FullName;
        _data = Directory.CreateTempSubdirectory("luaxmpp-pass-data-").FullName;
        var set = new List<string> { "message" };
        if (Modules.StartsWith("mam", StringComparison.Ordinal))
        {
            CopyDirectory(Path.Combine(RepositoryRoot(), "modules", "mod_mam"), Path.Combine(_plugins, "mod_mam"));
            set.Add("mam");
        }
        if (Modules.Contains("carbons", StringComparison.Ordinal)) set.AddRange(["carbons", "blocklist"]);
        if (Modules.Contains("prosody", StringComparison.Ordinal))
        {
            foreach (var file in new[] { "mod_carbons.lua", "mod_blocklist.lua" })
                File.Copy(Path.Combine("/usr/lib/prosody/modules", file), Path.Combine(_plugins, file));
        }
        var global = new Dictionary<string, object?> { ["storage"] = "memory" };
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
            foreach (var module in set)
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
            .SetAttribute("to", "bob@localhost/phone").SetAttribute("type", "headline").SetAttribute("id", "m1");
        _message.AddTextChild("body", "Are we still meeting at noon? I can bring the slides.");
        // LUAXMPP_BENCH_GC=generational|incremental: the Lua collector's mode for this run (an experiment knob).
        if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_GC") is { Length: > 0 } gc)
            _loop.InvokeAsync(() => _runtime.Run($"collectgarbage('{gc}')")).GetAwaiter().GetResult();
        // Warm-up pass: loads blocklists, creates the session runners.
        Pass();
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

    [Benchmark(OperationsPerInvoke = Batch, Description = "pass of a headline message, full JID, delivered")]
    public int Pass()
    {
        var before = _bob.Count;
        int waited = 0;
        _loop.InvokeAsync(() => Micro.ThreadCpu.Measure(() =>
        {
            for (var i = 0; i < Batch; i++)
            {
                var pass = _server.Router.ProcessAsync(_alice, _message.Clone());
                if (!pass.IsCompletedSuccessfully) waited++;
            }
        })).GetAwaiter().GetResult();
        // Passes that waited (storage) finish on later loop turns; wait for them here, outside the batch.
        for (int i = 0; i < 500 && _bob.Count - before < Batch; i++) Thread.Sleep(10);
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
            if (Directory.Exists(Path.Combine(dir.FullName, "modules", "mod_mam")) && File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root (modules/mod_mam) not found above " + AppContext.BaseDirectory);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
