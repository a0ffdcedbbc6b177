using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// One in-process server for the pass benchmarks: a host "localhost" with the given modules
/// (Lua files from a plugin directory the benchmark fills), alice bound as laptop and bob as phone
/// (bob's connection counts deliveries), and batches of one message from alice to bob's full JID
/// through the router, timed in loop-thread CPU.
/// </summary>
internal sealed class PassHarness : IDisposable
{
    public const int Batch = 1000;
    public const string Host = "localhost";

    private readonly ServerLoop _loop = new();
    private readonly CountingConnection _bob = new();
    private XmppServer _server = null!;
    private LuaRuntime _runtime = null!;
    private ClientSession _alice = null!;
    private XmlElement _message = null!;

    private PassHarness(string plugins, string data)
    {
        Plugins = plugins;
        Data = data;
    }

    /// <summary>The directory searched for Lua modules (filled before <see cref="StartAsync"/>).</summary>
    public string Plugins { get; }

    public string Data { get; }

    public ServerLoop Loop => _loop;

    public XmppServer Server => _server;

    public LuaRuntime Runtime => _runtime;

    public static PassHarness Create(string prefix) => new(
        Directory.CreateTempSubdirectory(prefix).FullName,
        Directory.CreateTempSubdirectory(prefix + "data-").FullName);

    public async Task StartAsync(Dictionary<string, object?> global, IEnumerable<string> modules, string messageType)
    {
        var config = new ServerConfig(null, global, [new HostConfig(Host, HostKind.VirtualHost, null, new Dictionary<string, object?>())]);
        _loop.Start();
        var storage = new StorageManager(config, Data);
        var auth = new InternalPlainProvider(Host, storage);
        _server = new XmppServer(config, _loop, storage, _ => auth);
        NativeModules.RegisterAll(_server.Modules);
        await _loop.InvokeAsync(async () =>
        {
            var host = _server.ActivateHost(config.Hosts[0]);
            _runtime = new LuaRuntime(_server, [Plugins]);
            _server.Modules.Runtime = _runtime;
            foreach (var module in modules)
            {
                if (await _server.Modules.LoadAsync(host, module) is { } error) throw new InvalidOperationException($"mod_{module}: {error}");
            }
        });
        await auth.CreateUserAsync("alice", "a");
        await auth.CreateUserAsync("bob", "b");
        _alice = await BindAsync("alice", "laptop", new CountingConnection());
        await BindAsync("bob", "phone", _bob);
        _message = new XmlElement("message", Namespaces.Client)
            .SetAttribute("to", "bob@localhost/phone").SetAttribute("type", messageType).SetAttribute("id", "m1");
        _message.AddTextChild("body", "Are we still meeting at noon? I can bring the slides.");
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

    /// <summary>
    /// <see cref="Batch"/> passes on the loop (each clones the message: the router stamps it);
    /// passes that waited (storage) finish on later loop turns and are waited for outside the
    /// timed part. Returns how many waited; throws unless bob got every message.
    /// </summary>
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
        for (int i = 0; i < 1000 && _bob.Count - before < Batch; i++) Thread.Sleep(10);
        var delivered = _bob.Count - before;
        // LUAXMPP_BENCH_TRACE=1: the batch's Lua dispatches, those C# resumed itself, the event tables reused.
        if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_TRACE") == "1")
        {
            Console.Error.WriteLine(_loop.InvokeAsync(() => $"dispatches {_runtime.Dispatches} direct {_runtime.DirectWalks} reused {_runtime.ReusedEvents}").GetAwaiter().GetResult());
            _loop.InvokeAsync(() => _runtime.Run("io.stderr:write('handlers analysed ', require 'core.escape'.analysed, '\\n')")).GetAwaiter().GetResult();
        }
        if (delivered != Batch) throw new InvalidOperationException($"delivered {delivered} of {Batch} ({waited} waited)");
        return waited;
    }

    public void Dispose()
    {
        _loop.InvokeAsync(() => _runtime?.Dispose()).GetAwaiter().GetResult();
        _loop.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(Plugins, recursive: true);
        Directory.Delete(Data, recursive: true);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "modules", "mod_smacks.lua")) && File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root (modules/) not found above " + AppContext.BaseDirectory);
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
