using System.Diagnostics;
using System.Reflection;
using System.Text;
using KeraLua;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.LuaBridge.Libraries;
using LuaXmpp.LuaBridge.Marshalling;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// The Lua 5.4 state that hosts Prosody modules: module environments and the <c>module</c> API,
/// the <c>prosody</c> globals, and the bridge between Lua handlers and the C# event buses.
/// </summary>
/// <remarks>
/// <para>One state, used only on the <see cref="Loop.ServerLoop"/> thread: every
/// <see cref="IModuleRuntime"/> call, event dispatch and timer arrives there (asserted in debug).</para>
/// <para>Boundary: C# primitives never throw into Lua and never raise (see <see cref="NativeTable"/>);
/// Lua code is always entered through lua_pcall with a traceback handler. Table access from C#
/// is raw so no metamethod can raise inside a C# frame.</para>
/// <para>Yielding: every chain that holds a Lua handler is walked in Lua (core/bridge.lua) and
/// only C# handlers are entered through a primitive, so a Lua handler may wait. Lua-fired events
/// run in the caller's coroutine; C#-fired ones are handed over by the bus (this runtime is its
/// <see cref="Events.IChainDispatcher"/>) and run inside a util.async runner: see
/// LuaRuntime.Dispatch.cs for what the C# caller gets when a handler waits.</para>
/// </remarks>
public sealed partial class LuaRuntime : IModuleRuntime, IDisposable
{
    private readonly Lua _main;
    // The prosody global (hosts, sessions, router, storage, usermanager, events, modules): Lua
    // modules see all of it, so the bridge takes the interface, never the concrete server.
    private readonly IProsody _server;
    private readonly IReadOnlyList<string> _pluginPaths;
    private readonly IReadOnlyList<string> _searchPaths;
    private readonly string? _installationModules;
    private readonly NativeAreas _natives;
    private readonly StanzaMarshaller _stanzas;
    private readonly Logger _log = Logger.For("luaxmpp.lua");
    private readonly Dictionary<string, Logger> _loggers = new(StringComparer.Ordinal);
    private readonly Stopwatch _monotonic = Stopwatch.StartNew();
    private Lua? _current;
    private int _entry = LuaRef.NoRef;
    private int _callHandler = LuaRef.NoRef;
    private int _call = LuaRef.NoRef;
    private int _sidOf = LuaRef.NoRef;
    private int _chainState = LuaRef.NoRef;
    private int _stanzaMt = LuaRef.NoRef;
    private int _lazyStanzaMt = LuaRef.NoRef;
    private int _lazyLive = LuaRef.NoRef;
    private int _lazySweepAt = 1024;
    private bool _stanzaMtResolved;
    private bool _disposed;

    /// <param name="pluginPaths">The config's plugin_paths, then our own modules/ directory (last).</param>
    /// <param name="installationModules">
    /// Prosody's installed module directory, searched after <paramref name="pluginPaths"/> as
    /// Prosody searches its own (CFG_PLUGINDIR) after plugin_paths; a native module of the same
    /// name wins over a file found only there (<see cref="IsInstallationFallback"/>).
    /// </param>
    public LuaRuntime(IProsody server, IReadOnlyList<string> pluginPaths, string? installationModules = null)
    {
        _server = server;
        _pluginPaths = pluginPaths;
        _installationModules = installationModules;
        _searchPaths = installationModules is null ? pluginPaths : [.. pluginPaths, installationModules];
        _main = new Lua(openLibs: true) { Encoding = Encoding.UTF8 };
        _stanzas = new StanzaMarshaller(PushStanzaMetatable, PushLazyStanzaMetatable, PushLazyLive);
        _natives = new NativeAreas(() => _current, l => _current = l);
        RegisterNatives();
        server.Sessions.SessionDestroyed += OnSessionDestroyed;
        server.Sessions.SessionRegistered += OnSessionRegistered;
        LuaLibraries.Install(_main, server.Loop.Time);
        ConfigureGarbageCollector();
        RunPrelude();
        StartMemoryTrace();
    }

    /// <summary>The state for the call in progress: the calling coroutine inside a primitive, else the main state.</summary>
    private Lua State => _current ?? _main;

    public bool CanLoad(string name) => FindModuleFile(name) is not null;

    public bool IsInstallationFallback(string name) =>
        _installationModules is not null && FindModuleFile(name) is { } path
        && path.StartsWith(_installationModules + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    public bool Unload(HostContext host, string name) => CallModuleEntry("unload_module", host.Name, name) is null;

    /// <summary>Runs Lua source in the global environment (tests, diagnostics); returns the error, or null.</summary>
    public string? Run(string source, string chunkName = "=run")
    {
        AssertLoop();
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        lua.PushRef(_entry);
        lua.RawGetField(-1, "run");
        lua.PushString(source);
        lua.PushString(chunkName);
        if (scope.PCall(2, 2) != LuaStatus.OK) return lua.ToString(-1, false);
        return lua.ToBoolean(-2) ? null : lua.RawString(-1) ?? "error";
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _memoryTrace?.Dispose();
        foreach (var timer in _timers.Values) timer.Handle?.Dispose();
        _timers.Clear();
        foreach (var handler in _handlers.Values) handler.Subscription?.Dispose();
        _handlers.Clear();
        CloseNetSockets();
        CloseDbiConnections();
        FailPendingLoads();
        foreach (var (bus, watcher) in _watchedBuses)
        {
            bus.ChainChanged -= watcher;
            if (ReferenceEquals(bus.Dispatcher, this)) bus.Dispatcher = null;
        }
        foreach (var (session, gate) in _pausedInput)
        {
            session.InputPaused = null;
            gate.TrySetResult();
        }
        _pausedInput.Clear();
        AbandonPendingDispatches();
        _main.Close();
    }

    [Conditional("DEBUG")]
    private void AssertLoop() =>
        Debug.Assert(_server.Loop.IsOnLoop, "The Lua state may only be used on the ServerLoop thread");

    private Logger LoggerFor(string source)
    {
        if (_loggers.TryGetValue(source, out var logger)) return logger;
        logger = Logger.For(source);
        // Sessions log under their own names (c2s1a2b…): caching every one would keep a logger
        // per connection ever made. Module names are few and come first; beyond the bound a
        // logger is simply made for the call.
        if (_loggers.Count < MaxCachedLoggers) _loggers[source] = logger;
        return logger;
    }

    private const int MaxCachedLoggers = 1024;

    private void RunPrelude()
    {
        var text = EmbeddedText("prelude") ?? throw new InvalidOperationException("prelude.lua is not embedded");
        using var scope = LuaStack.Enter(_main);
        var lua = scope.Lua;
        if (lua.LoadString(text, "@lua/prelude.lua") != LuaStatus.OK)
            throw new InvalidOperationException("prelude: " + lua.ToString(-1, false));
        _natives.Push(lua);
        PushSettings(lua);
        lua.PushRef(ResolveTraceback(lua));
        lua.Insert(-4);
        if (scope.PCall(2, 1, -4) != LuaStatus.OK)
            throw new InvalidOperationException("prelude: " + lua.ToString(-1, false));
        lua.Remove(-2);
        lua.PushCopy(-1);
        _entry = lua.PopRef();
        _callHandler = EntryRef(lua, "call_handler");
        _call = EntryRef(lua, "call");
        _sidOf = EntryRef(lua, "sid_of");
        _dispatch = EntryRef(lua, "dispatch");
        _eventIds = EntryRef(lua, "event_ids");
        _chainState = EntryRef(lua, "chain_state");
        _sessionFields = EntryRef(lua, "session_fields");
        ResolvePendingRefs(lua);
        lua.Pop(1);
    }

    private static int ResolveTraceback(Lua lua)
    {
        lua.GetGlobal("debug");
        lua.RawGetField(-1, "traceback");
        lua.Remove(-2);
        return lua.PopRef();
    }

    private static int EntryRef(Lua lua, string name)
    {
        lua.RawGetField(-1, name);
        return lua.PopRef();
    }

    private void PushSettings(Lua lua)
    {
        lua.CreateTable(0, 8);
        lua.PushString(_server.Version);
        lua.RawSetField(-2, "version");
        lua.PushInteger(_server.StartTime.ToUnixTimeSeconds());
        lua.RawSetField(-2, "start_time");
        lua.PushString(string.Join(";", _searchPaths));
        lua.RawSetField(-2, "plugins");
        if (_server.Config.Path is { } path)
        {
            lua.PushString(path);
            lua.RawSetField(-2, "config");
        }
        if (_server.Config.GetString(null, "data_path") is { } data)
        {
            lua.PushString(data);
            lua.RawSetField(-2, "data");
        }
        lua.PushString(AppContext.BaseDirectory);
        lua.RawSetField(-2, "source");
    }

    /// <summary>Calls entry.load_module/unload_module; returns the error, or null on success.</summary>
    private string? CallModuleEntry(string entry, string host, string name)
    {
        AssertLoop();
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        lua.PushRef(_call);
        lua.PushRef(_entry);
        lua.RawGetField(-1, entry);
        lua.Remove(-2);
        lua.PushString(host);
        lua.PushString(name);
        if (scope.PCall(3, 3) != LuaStatus.OK) return lua.ToString(-1, false);
        if (!lua.ToBoolean(-3)) return lua.RawString(-2) ?? "error";
        return lua.ToBoolean(-2) ? null : lua.RawString(-1) ?? $"mod_{name} is not loaded on {host}";
    }

    private static string? EmbeddedText(string module)
    {
        var resource = "lua/" + module.Replace('.', '/') + ".lua";
        using var stream = typeof(LuaRuntime).Assembly.GetManifestResourceStream(resource);
        if (stream is null) return null;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private bool PushStanzaMetatable(Lua lua)
    {
        // Resolved on first use (util.stanza loads lazily); retried until it exists.
        if (!_stanzaMtResolved)
        {
            using var scope = LuaStack.Enter(lua);
            lua.PushRef(_entry);
            lua.RawGetField(-1, "stanza_mt");
            // → stanza_mt, lazy_mt, lazy_live (util.stanza; the last two are LuaXmpp's lazy stanzas)
            if (scope.PCall(0, 3) == LuaStatus.OK && lua.Type(-3) == LuaType.Table)
            {
                if (lua.Type(-1) == LuaType.Table) _lazyLive = lua.PopRef();
                else lua.Pop(1);
                if (lua.Type(-1) == LuaType.Table) _lazyStanzaMt = lua.PopRef();
                else lua.Pop(1);
                _stanzaMt = lua.PopRef();
                _stanzaMtResolved = true;
            }
        }
        if (_stanzaMt == LuaRef.NoRef) return false;
        lua.PushRef(_stanzaMt);
        return true;
    }

    private bool PushLazyStanzaMetatable(Lua lua)
    {
        if (!_stanzaMtResolved && PushStanzaMetatable(lua)) lua.Pop(1);
        if (_lazyStanzaMt == LuaRef.NoRef) return false;
        lua.PushRef(_lazyStanzaMt);
        return true;
    }

    // stanza_fill(t, id): util.stanza fills a lazy stanza on its first touch.
    private int StanzaFill(Lua lua)
    {
        _stanzas.Fill(lua, 1, lua.ToInteger(2));
        return 0;
    }

    private bool PushLazyLive(Lua lua)
    {
        if (_lazyLive == LuaRef.NoRef) return false;
        lua.PushRef(_lazyLive);
        return true;
    }

    /// <summary>
    /// Lazy stanzas Lua collected without touching them: their elements are let go, in sweeps
    /// spaced by how many are held (amortised: a sweep visits every handle still held).
    /// </summary>
    private void SweepLazyStanzas()
    {
        if (_stanzas.LazyCount < _lazySweepAt) return;
        _lazySweepAt = Math.Max(1024, 2 * _stanzas.Sweep(_main));
    }
}
