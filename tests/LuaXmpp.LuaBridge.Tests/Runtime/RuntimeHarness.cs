using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// An in-process server on a started loop with a <see cref="LuaRuntime"/> over a temporary
/// plugin directory, the real storage manager (the "memory" driver unless the test's options
/// say otherwise) and the real internal_hashed auth provider. Everything touching the server
/// runs on the loop through <see cref="On{T}"/>.
/// </summary>
internal sealed class RuntimeHarness : IAsyncDisposable
{
    public const string Host = "localhost";

    /// <summary>Few PBKDF2 rounds: account creation stays fast; the provider's code path is the same.</summary>
    private const int TestIterations = 64;

    private readonly ServerLoop _loop;
    private readonly StorageManager _storage;
    private readonly string _dataDir;

    private RuntimeHarness(ServerLoop loop, XmppServer server, StorageManager storage, string dataDir, string pluginDir, IReadOnlyList<string> paths)
    {
        _loop = loop;
        _storage = storage;
        _dataDir = dataDir;
        Server = server;
        PluginDir = pluginDir;
        Runtime = loop.InvokeAsync(() => new LuaRuntime(server, paths)).GetAwaiter().GetResult();
        server.Modules.Runtime = Runtime;
        HostContext = server.FindHost(Host)!;
    }

    public XmppServer Server { get; }

    public LuaRuntime Runtime { get; }

    public HostContext HostContext { get; }

    public string PluginDir { get; }

    public static RuntimeHarness Create(Dictionary<string, object?>? global = null, Dictionary<string, object?>? hostOptions = null, params string[] extraPaths)
    {
        TestLog.EnsureConfigured();
        var loop = new ServerLoop();
        loop.Start();
        var globalOptions = new Dictionary<string, object?>(global ?? new Dictionary<string, object?>());
        globalOptions.TryAdd("storage", "memory");
        var config = new ServerConfig(null, globalOptions,
            [new HostConfig(Host, HostKind.VirtualHost, null, hostOptions ?? new Dictionary<string, object?>())]);
        var dataDir = NewTempDirectory("luaxmpp-rt-data-");
        var storage = new StorageManager(config, dataDir);
        var auth = new InternalHashedProvider(Host, storage, iterations: TestIterations);
        var server = new XmppServer(config, loop, storage, _ => auth);
        loop.InvokeAsync(() => server.ActivateHost(config.Hosts[0])).GetAwaiter().GetResult();
        var dir = NewTempDirectory("luaxmpp-rt-");
        return new RuntimeHarness(loop, server, storage, dataDir, dir, [dir, .. extraPaths]);
    }

    private static string NewTempDirectory(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void WriteModule(string name, string source) =>
        File.WriteAllText(Path.Combine(PluginDir, "mod_" + name + ".lua"), source);

    public Task<T> On<T>(Func<T> func) => _loop.InvokeAsync(func);

    public Task On(Action action) => _loop.InvokeAsync(action);

    public Task<string?> Load(string name) => On(() => Server.Modules.LoadAsync(HostContext, name)).Unwrap();

    public Task<object?> Fire(string name, EventData e) => On(() => HostContext.Events.Fire(name, e));

    /// <summary>A bound client session user@localhost/res on a recording connection.</summary>
    public async Task<(ClientSession Session, RecordingConnection Connection)> BindAsync(string user, string resource = "res")
    {
        var connection = new RecordingConnection();
        var session = new ClientSession(Host, connection) { Username = user };
        var error = await _loop.InvokeAsync(() =>
        {
            Server.Sessions.Register(session);
            return Server.Sessions.BindAsync(session, resource);
        }).Unwrap();
        Assert.Null(error);
        return (session, connection);
    }

    public static XmlElement Iq(string type, string id, string? to, string payloadName, string payloadNs)
    {
        var iq = new XmlElement("iq", Namespaces.Client);
        iq.SetAttribute("type", type).SetAttribute("id", id);
        if (to is not null) iq.SetAttribute("to", to);
        iq.AddChild(new XmlElement(payloadName, payloadNs));
        return iq;
    }

    public async ValueTask DisposeAsync()
    {
        await _loop.InvokeAsync(Runtime.Dispose);
        await _loop.DisposeAsync();
        _storage.Dispose();
        DeleteDirectory(PluginDir);
        DeleteDirectory(_dataDir);
    }

    private static void DeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}

/// <summary>Serializes the runtime tests: they share the process-wide log configuration.</summary>
[CollectionDefinition("LuaRuntime", DisableParallelization = true)]
public sealed class LuaRuntimeCollection
{
}

/// <summary>The captured log of the runtime tests.</summary>
internal static class TestLog
{
    public static readonly CapturingLogSink Sink = new();

    private static bool _configured;

    public static void EnsureConfigured()
    {
        if (_configured) return;
        _configured = true;
        LogManager.Configure([Sink]);
    }
}
