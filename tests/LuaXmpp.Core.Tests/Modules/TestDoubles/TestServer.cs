using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Loop;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>
/// An in-process server for module tests: a real loop, one VirtualHost "localhost" with the
/// native modules loaded, the real storage manager on the "memory" driver and the real
/// internal_hashed auth provider over it. Every action runs on the loop.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string Domain = "localhost";

    /// <summary>Few PBKDF2 rounds: account creation stays fast; the provider's code path is the same.</summary>
    private const int TestIterations = 64;

    private readonly TempDirectory _dataDir;

    private TestServer(XmppServer server, HostContext host, StorageManager storage, IAuthProvider auth, ManualTime time, TempDirectory dataDir)
    {
        Server = server;
        Host = host;
        Storage = storage;
        Auth = auth;
        Time = time;
        _dataDir = dataDir;
    }

    public XmppServer Server { get; }

    public HostContext Host { get; }

    public StorageManager Storage { get; }

    public IAuthProvider Auth { get; }

    public ManualTime Time { get; }

    public ServerLoop Loop => Server.Loop;

    public static async Task<TestServer> StartAsync(Dictionary<string, object?>? options = null, params string[] extraModules)
    {
        var time = new ManualTime();
        var loop = new ServerLoop(time);
        loop.Start();
        var global = new Dictionary<string, object?>(options ?? new())
        {
            ["modules_enabled"] = List(["roster", "disco", "ping", "time", "version", "uptime", "register", .. extraModules]),
        };
        global.TryAdd("storage", "memory");
        var config = ServerConfig.Create(global, Domain);
        var dataDir = new TempDirectory();
        var storage = new StorageManager(config, dataDir.Path);
        var auth = new InternalHashedProvider(Domain, storage, iterations: TestIterations);
        var server = new XmppServer(config, loop, storage, _ => auth);
        var host = await await loop.InvokeAsync(async () =>
        {
            NativeModules.RegisterAll(server.Modules);
            var h = server.ActivateHost(config.Hosts[0]);
            var missing = await server.Modules.LoadAllAsync(h);
            Assert.Empty(missing);
            return h;
        });
        return new TestServer(server, host, storage, auth, time, dataDir);
    }

    public static ConfigTable List(IEnumerable<object?> items)
    {
        var t = new ConfigTable();
        t.Array.AddRange(items);
        return t;
    }

    public Task RunAsync(Action action) => Loop.InvokeAsync(action);

    public Task<T> RunAsync<T>(Func<T> func) => Loop.InvokeAsync(func);

    /// <summary>Creates the account if needed, then an authenticated session bound to the resource.</summary>
    public async Task<TestClient> ConnectAsync(string user, string resource = "res", bool bind = true)
    {
        // False when the account exists already, which is fine here.
        await Auth.CreateUserAsync(user, "secret");
        var connection = new TestConnection();
        var session = await Loop.InvokeAsync(() =>
        {
            var s = new ClientSession(Domain, connection) { Username = user, Type = "c2s_unbound" };
            Server.Sessions.Register(s);
            return s;
        });
        if (bind)
        {
            await Loop.InvokeAsync(async () => Assert.Null(await Server.Sessions.BindAsync(session, resource)));
        }
        return new TestClient(this, session, connection);
    }

    /// <summary>A session that has not authenticated (for in-band registration).</summary>
    public async Task<TestClient> ConnectUnauthenticatedAsync(bool secure = true, string ip = "127.0.0.1")
    {
        var connection = new TestConnection(ip, secure);
        var session = await Loop.InvokeAsync(() =>
        {
            var s = new ClientSession(Domain, connection);
            Server.Sessions.Register(s);
            return s;
        });
        return new TestClient(this, session, connection);
    }

    /// <summary>The user's stored roster (the "roster" keyval store), or null.</summary>
    public Task<DataTable?> RosterAsync(string user) => Storage.OpenKeyValue(Domain, "roster").GetAsync(user);

    /// <summary>Everything the user has in an archive store, oldest first.</summary>
    public async Task<IReadOnlyList<ArchiveItem>> ArchiveAsync(string store, string user) =>
        (await Storage.OpenArchive(Domain, store).FindAsync(user, new ArchiveQuery())).Items;

    public async ValueTask DisposeAsync()
    {
        await Loop.DisposeAsync();
        Storage.Dispose();
        _dataDir.Dispose();
    }
}

/// <summary>One client: sends XML through the router and reads what the server sent back.</summary>
public sealed class TestClient(TestServer server, ClientSession session, TestConnection connection)
{
    public ClientSession Session { get; } = session;

    public TestConnection Connection { get; } = connection;

    public string FullJid => Session.FullJid!.ToString();

    public string BareJid => Session.FullJid!.Bare.ToString();

    public Task SendAsync(string xml) => server.RunAsync(() => server.Server.Router.Process(Session, TestXml.Parse(xml)));

    /// <summary>Everything received since the last call.</summary>
    public async Task<List<XmlElement>> ReceivedAsync()
    {
        return await server.RunAsync(() =>
        {
            var list = Connection.Sent.ToList();
            Connection.Sent.Clear();
            return list;
        });
    }

    /// <summary>
    /// Sends and returns the single reply with that id. Handlers that touch storage answer from
    /// a later loop work item (the drivers complete on the thread pool), so this waits for the
    /// reply, bounded, rather than reading once.
    /// </summary>
    public async Task<XmlElement> IqAsync(string xml)
    {
        await SendAsync(xml);
        var id = TestXml.Parse(xml).GetAttribute("id");
        var all = new List<XmlElement>();
        for (int attempt = 0; attempt < 500 && !all.Exists(e => IsReply(e, id)); attempt++)
        {
            all.AddRange(await ReceivedAsync());
            if (!all.Exists(e => IsReply(e, id))) await Task.Delay(10);
        }
        return Assert.Single(all, e => IsReply(e, id));
    }

    private static bool IsReply(XmlElement e, string? id) => e.Name == "iq" && e.GetAttribute("id") == id;

    public Task DisconnectAsync(string? reason = null) =>
        server.RunAsync(() => server.Server.Sessions.Destroy(Session, reason));
}
