using BenchmarkDotNet.Attributes;
using LuaXmpp.Accounts;
using LuaXmpp.Bench.Micro;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Loop;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Modules.Native;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Bench.Bridge;

/// <summary>
/// What crossing the bridge costs (docs/BRIDGE.md compares with bench/bridge-yardstick.lua, the
/// same operations inside Prosody). Each benchmark runs a batch of <see cref="Batch"/> operations
/// in one work item on the server loop, as the server runs them, so the cross-thread hop is
/// amortised and per-work-item cleanup (event table release) still happens.
/// </summary>
[MemoryDiagnoser]
public class BridgeBenchmarks
{
    private const int Batch = 1000;
    private const string Host = "localhost";

    private ServerLoop _loop = null!;
    private XmppServer _server = null!;
    private LuaRuntime _runtime = null!;
    private HostContext _host = null!;
    private ClientSession _session = null!;
    private XmlElement _message = null!;
    private string _plugins = null!;
    private string _data = null!;

    /// <summary>The message the yardstick uses too: body, chat state, receipt request, origin-id.</summary>
    private static XmlElement TypicalMessage()
    {
        var m = new XmlElement("message", Namespaces.Client);
        m.SetAttribute("type", "chat").SetAttribute("id", "msg-1").SetAttribute("to", "bob@localhost/phone")
            .SetAttribute("from", "alice@localhost/laptop").SetAttribute("xml:lang", "en");
        m.AddTextChild("body", "Are we still meeting at noon? I can bring the slides.", Namespaces.Client);
        m.AddChild("active", "http://jabber.org/protocol/chatstates");
        m.AddChild("request", "urn:xmpp:receipts");
        m.AddChild("origin-id", "urn:xmpp:sid:0").SetAttribute("id", "c7f4b1a0-2d55-4c1e-9a61-0f3e1f2b8d11");
        return m;
    }

    [GlobalSetup]
    public void Setup()
    {
        _plugins = Directory.CreateTempSubdirectory("luaxmpp-bench-").FullName;
        _data = Directory.CreateTempSubdirectory("luaxmpp-bench-data-").FullName;
        File.WriteAllText(Path.Combine(_plugins, "mod_bench.lua"), """
            local st = require "util.stanza"
            module:hook("bench-event", function(event) event.seen = true; return true end)
            module:hook("bench-nil", function(event) end)
            module:hook("bench-reads", function(event) if event.stanza.attr.type == "groupchat" then return true end end)
            local template
            function send_batch(n, to)
              template = template or st.message({ to = to, type = "chat", id = "msg-1" })
                :text_tag("body", "Are we still meeting at noon? I can bring the slides.")
                :tag("active", { xmlns = "http://jabber.org/protocol/chatstates" }):up()
                :tag("request", { xmlns = "urn:xmpp:receipts" }):up()
                :tag("origin-id", { xmlns = "urn:xmpp:sid:0", id = "c7f4b1a0-2d55-4c1e-9a61-0f3e1f2b8d11" }):up()
              for _ = 1, n do module:send(st.clone(template)) end
            end
            local bridge = require "core.bridge"
            -- What a C#-fired chain with a session and a message does in Lua: the event made from
            -- origin and a lazy stanza handle (one nobody fills), tracked, in the session's runner.
            local handle_base = 1e9
            function dispatch_batch(n)
              local origin = bridge.full_sessions["bob@localhost/phone"]
              for i = 1, n do bridge.dispatch("localhost", "bench-nil", nil, -i, true, 1, 1, true, origin, handle_base + i % 64) end
            end
            function walk_batch(n)
              for _ = 1, n do bridge.walk("localhost", "bench-nil", {}, 1, 1) end
            end
            function clone_batch(n)
              for _ = 1, n do local _ = st.clone(template) end
            end
            """);
        var global = new Dictionary<string, object?> { ["storage"] = "memory" };
        var config = new ServerConfig(null, global, [new HostConfig(Host, HostKind.VirtualHost, null, new Dictionary<string, object?>())]);
        _loop = new ServerLoop();
        _loop.Start();
        var storage = new StorageManager(config, _data);
        _server = new XmppServer(config, _loop, storage, host => AuthProviders.Create(host, config, storage));
        NativeModules.RegisterAll(_server.Modules);
        _message = TypicalMessage();
        _loop.InvokeAsync(() =>
        {
            _host = _server.ActivateHost(config.Hosts[0]);
            _runtime = new LuaRuntime(_server, [_plugins]);
            _server.Modules.Runtime = _runtime;
            Check(Finished(_server.Modules.LoadAsync(_host, "message")));
            Check(Finished(_server.Modules.LoadAsync(_host, "bench")));
            _host.Events.Hook("bench-native", _ => true);
            _session = new ClientSession(Host, new CountingConnection()) { Username = "bob" };
            _server.Sessions.Register(_session);
            return _server.Sessions.BindAsync(_session, "phone");
        }).Unwrap().GetAwaiter().GetResult();
        // LUAXMPP_BENCH_GC=generational|incremental: the Lua collector's mode for this run (an experiment knob).
        if (Environment.GetEnvironmentVariable("LUAXMPP_BENCH_GC") is { Length: > 0 } gc)
            _loop.InvokeAsync(() => _runtime.Run($"collectgarbage('{gc}')")).GetAwaiter().GetResult();
        On(() => _runtime.Run("assert(prosody.hosts.localhost.modules.bench).send_batch(1, 'bob@localhost/phone')"));
    }

    // Memory storage: these loads finish at once.
    private static string? Finished(Task<string?> load) => load.IsCompletedSuccessfully ? load.Result : "did not finish at once";

    private static void Check(string? error)
    {
        if (error is not null) throw new InvalidOperationException(error);
    }

    private void On(Action action) => _loop.InvokeAsync(action).GetAwaiter().GetResult();

    // LUAXMPP_BENCH_LUAMEM=1: prints the Lua bytes allocated per operation of each batch (with
    // LUAXMPP_BENCH_GC=stop, what each dispatch leaves for the collector).
    // LUAXMPP_BENCH_TRACE=1: prints each batch's CPU ns per operation with the Lua collection
    // cycles that ended in it and the .NET collections (gen0, gen1) it made, to see what the
    // spread between batches comes from.
    private void Batched(Action op) => On(() =>
    {
        bool mem = Environment.GetEnvironmentVariable("LUAXMPP_BENCH_LUAMEM") == "1";
        bool trace = Environment.GetEnvironmentVariable("LUAXMPP_BENCH_TRACE") == "1";
        if (mem) Check(_runtime.Run("__m0 = collectgarbage('count')"));
        if (trace) Check(_runtime.Run("""
            if not __cycles then
              __cycles = 0
              local function sentinel() setmetatable({}, { __gc = function() __cycles = __cycles + 1; sentinel() end }) end
              sentinel()
            end
            __c0 = __cycles
            """));
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1);
        long switches = trace ? InvoluntarySwitches() : 0;
        Micro.ThreadCpu.Measure(() =>
        {
            for (int i = 0; i < Batch; i++) op();
        });
        if (mem) Check(_runtime.Run("io.stderr:write(string.format('lua bytes/op %.1f\\n', (collectgarbage('count') - __m0) * 1024 / 1000))"));
        if (trace)
        {
            var line = $"batch {Micro.ThreadCpu.LastBatch / Batch} ns/op, preempted {InvoluntarySwitches() - switches} times, .NET gen0 {GC.CollectionCount(0) - gen0} gen1 {GC.CollectionCount(1) - gen1}";
            Check(_runtime.Run($"io.stderr:write('{line}, Lua cycles ', __cycles - __c0, ', Lua heap ', math.floor(collectgarbage('count')), ' KB\\n')"));
        }
    });

    // The loop thread's involuntary context switches so far (/proc/thread-self/status).
    private static long InvoluntarySwitches()
    {
        foreach (var line in File.ReadLines("/proc/thread-self/status"))
        {
            if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan("nonvoluntary_ctxt_switches:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }

    [Benchmark(OperationsPerInvoke = Batch, Baseline = true, Description = "C# fire, one C# handler")]
    public void FireNativeHandler() => Batched(() => _host.Events.Fire("bench-native", new EventData()));

    [Benchmark(OperationsPerInvoke = Batch, Description = "C# fire, one Lua handler")]
    public void FireLuaHandler() => Batched(() => _host.Events.Fire("bench-event", new EventData()));

    [Benchmark(OperationsPerInvoke = Batch, Description = "C# fire, one Lua handler, with session and message")]
    public void FireLuaHandlerWithMessage() => Batched(() => _host.Events.Fire("bench-event", new EventData(_session, _message)));

    [Benchmark(OperationsPerInvoke = Batch, Description = "C# fire, one Lua handler returning nil, with session and message")]
    public void FireLuaNilHandlerWithMessage() => Batched(() => _host.Events.Fire("bench-nil", new EventData(_session, _message)));

    // The row above keeps the batch's 1000 events alive until the batch's work item ends (the
    // collector marks them all, and their release runs after the measurement). The server runs
    // each stanza's pass as its own work item; this row ends one after each fire, as the loop
    // does, with the release's cost measured.
    [Benchmark(OperationsPerInvoke = Batch, Description = "same, one fire per work item (its end, the event's release, included)")]
    public void FireLuaNilHandlerPerWorkItem() => Batched(() =>
    {
        _host.Events.Fire("bench-nil", new EventData(_session, _message));
        _runtime.ReleaseEvents();
    });

    [Benchmark(OperationsPerInvoke = Batch, Description = "same, the handler reads event.stanza.attr.type")]
    public void FireLuaReadingHandlerWithMessage() => Batched(() => _host.Events.Fire("bench-reads", new EventData(_session, _message)));

    [Benchmark(OperationsPerInvoke = Batch, Description = "message → Lua table → message")]
    public void StanzaRoundTrip() => Batched(() => _runtime.StanzaRoundTrip(_message));

    [Benchmark(OperationsPerInvoke = Batch, Description = "module:send from Lua to a bound resource (with st.clone)")]
    public void ModuleSend() => On(() => Micro.ThreadCpu.Measure(() => Check(_runtime.Run("prosody.hosts.localhost.modules.bench.send_batch(1000, 'bob@localhost/phone')"))));

    [Benchmark(OperationsPerInvoke = Batch, Description = "st.clone alone (to subtract from module:send)")]
    public void CloneOnly() => On(() => Micro.ThreadCpu.Measure(() => Check(_runtime.Run("prosody.hosts.localhost.modules.bench.clone_batch(1000)"))));

    [Benchmark(OperationsPerInvoke = Batch, Description = "Lua side of a dispatch alone (event, runner, job, walk; no C#)")]
    public void LuaDispatchOnly() => On(() => Micro.ThreadCpu.Measure(() => Check(_runtime.Run("prosody.hosts.localhost.modules.bench.dispatch_batch(1000)"))));

    [Benchmark(OperationsPerInvoke = Batch, Description = "Lua walk of the chain alone (no runner)")]
    public void LuaWalkOnly() => On(() => Micro.ThreadCpu.Measure(() => Check(_runtime.Run("prosody.hosts.localhost.modules.bench.walk_batch(1000)"))));

    [GlobalCleanup]
    public void Cleanup()
    {
        On(() => _runtime.Dispose());
        _loop.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_plugins, recursive: true);
        Directory.Delete(_data, recursive: true);
    }
}
