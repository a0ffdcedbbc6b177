using BenchmarkDotNet.Attributes;
using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Loop;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// A chat message from one bound session to another's full JID through the real router and
/// native modules (mod_message), in process: no sockets, in-memory storage. The work is done on
/// the server loop as in production; a batch per invocation amortizes the hop onto the loop.
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private const int Batch = 1000;

    private ServerLoop _loop = null!;
    private XmppServer _server = null!;
    private ClientSession _romeo = null!;
    private CountingConnection _julietConnection = null!;
    private XmlElement _message = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _loop = new ServerLoop();
        _loop.Start();
        var modules = new ConfigTable();
        modules.Array.AddRange(["roster", "disco", "ping"]);
        var config = ServerConfig.Create(new Dictionary<string, object?> { ["modules_enabled"] = modules, ["storage"] = "memory" }, "localhost");
        var storage = new StorageManager(config, Path.GetTempPath());
        var auth = new InternalPlainProvider("localhost", storage);
        _server = new XmppServer(config, _loop, storage, _ => auth);
        await _loop.InvokeAsync(async () =>
        {
            NativeModules.RegisterAll(_server.Modules);
            var host = _server.ActivateHost(config.Hosts[0]);
            var missing = await _server.Modules.LoadAllAsync(host);
            if (missing.Count > 0) throw new InvalidOperationException("modules missing: " + string.Join(", ", missing));
        });
        _romeo = await BindAsync("romeo", new CountingConnection());
        _julietConnection = new CountingConnection();
        await BindAsync("juliet", _julietConnection);
        _message = new XmlElement("message", "jabber:client")
            .SetAttribute("to", "juliet@localhost/balcony").SetAttribute("type", "chat").SetAttribute("id", "m1");
        _message.AddTextChild("body", "Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.");
        _message.AddChild("active", "http://jabber.org/protocol/chatstates");
    }

    private async Task<ClientSession> BindAsync(string user, CountingConnection connection)
    {
        var session = await _loop.InvokeAsync(() =>
        {
            var s = new ClientSession("localhost", connection) { Username = user, Type = "c2s_unbound" };
            _server.Sessions.Register(s);
            return s;
        });
        LuaXmpp.Xmpp.StanzaError? error = null;
        await _loop.InvokeAsync(async () => { error = await _server.Sessions.BindAsync(session, user == "juliet" ? "balcony" : "orchard"); });
        if (error is not null) throw new InvalidOperationException("bind failed: " + error);
        return session;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int RouteMessageToBoundSession()
    {
        var before = _julietConnection.Count;
        _loop.InvokeAsync(() =>
        {
            for (var i = 0; i < Batch; i++) _server.Router.Process(_romeo, _message.Clone());
        }).GetAwaiter().GetResult();
        var delivered = _julietConnection.Count - before;
        if (delivered != Batch) throw new InvalidOperationException($"delivered {delivered} of {Batch}");
        return delivered;
    }

    [GlobalCleanup]
    public void Cleanup() => _loop.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
