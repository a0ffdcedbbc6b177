using KeraLua;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// The native areas core/*.lua and the luaxmpp/ shims are written over
// (package.loaded["luaxmpp.native.<area>"]), and the bodies of the log, hosts and modules areas.
public sealed partial class LuaRuntime
{
    private readonly Dictionary<object, LuaRef> _itemTables = new(ReferenceEqualityComparer.Instance);

    // One table per area (docs/BRIDGE.md, "Native areas"), each filled by its own Register*Natives
    // method: here for the areas whose bodies are spread over several partials, else in the
    // partial that holds the bodies (Storage, Archive, ...). The area of a partial is its whole
    // registration method: storage includes the account primitives (user_*), connections
    // session_adopt/bare_get/directed, dbi auth_done. The shims under luaxmpp/ give the API.
    private void RegisterNatives()
    {
        RegisterLogNatives(_natives.Area("log"));
        RegisterTimeNatives(_natives.Area("time"));
        RegisterEventNatives(_natives.Area("events"));
        RegisterSessionNatives(_natives.Area("sessions"));
        RegisterHostNatives(_natives.Area("hosts"));
        RegisterTimerNatives(_natives.Area("timers"));
        RegisterModuleNatives(_natives.Area("modules"));
        RegisterConnectionNatives(_natives.Area("connections"));
        RegisterRosterNatives(_natives.Area("rosters"));
        RegisterRoutingNatives(_natives.Area("routing"));
        RegisterPendingNatives(_natives.Area("pending"));
        RegisterStorageNatives(_natives.Area("storage"));
        RegisterDbiNatives(_natives.Area("dbi"));
        RegisterStreamManagementNatives(_natives.Area("smacks"));
        RegisterArchiveNatives(_natives.Area("archive"));
        RegisterMetricsNatives(_natives.Area("metrics"));
        RegisterHttpNatives(_natives.Area("http"));
        RegisterListenerNatives(_natives.Area("net"));
    }

    private void RegisterLogNatives(NativeTable n)
    {
        n.Add("log", Log);
        n.Add("log_enabled", LogEnabled);
    }

    private void RegisterTimeNatives(NativeTable n)
    {
        n.Add("now", l => { l.PushNumber(_server.Loop.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0); return 1; });
        n.Add("monotonic", l => { l.PushNumber(_monotonic.Elapsed.TotalSeconds); return 1; });
    }

    private void RegisterEventNatives(NativeTable n)
    {
        n.Add("hook", Hook);
        n.Add("unhook", Unhook);
        n.Add("chain", Chain);
        n.Add("chain_version", l => { l.PushInteger(_chainVersion); return 1; });
        n.Add("fire_native", FireNative);
        n.Add("stanza_fill", StanzaFill);
        n.Add("handler_failed", HandlerFailedNative);
    }

    private void RegisterSessionNatives(NativeTable n)
    {
        n.Add("session_pause", SessionPause);
        n.Add("session_filters", SessionFilters);
        n.Add("session_bind", SessionBind);
        n.Add("session_get", SessionGet);
        n.Add("session_set", SessionSet);
        n.Add("session_auth_failed", SessionAuthFailed);
        n.Add("session_send", SessionSend);
        n.Add("session_close", SessionClose);
        n.Add("session_destroy", SessionDestroy);
        n.Add("full_session", FullSession);
        n.Add("full_list", FullList);
        n.Add("bare_session", BareSessionNative);
        n.Add("bare_resources", BareResources);
        n.Add("bare_list", BareList);
        n.Add("auth_name", AuthName);
    }

    // Hosts, their config options and their items (module:add_item, module:get_host_items).
    private void RegisterHostNatives(NativeTable n)
    {
        n.Add("host_info", HostInfo);
        n.Add("host_list", HostList);
        n.Add("get_option", GetOption);
        n.Add("add_item", AddItem);
        n.Add("remove_item", RemoveItem);
        n.Add("get_host_items", GetHostItems);
    }

    private void RegisterTimerNatives(NativeTable n)
    {
        n.Add("add_timer", AddTimer);
        n.Add("stop_timer", StopTimer);
        n.Add("reschedule_timer", RescheduleTimer);
    }

    private void RegisterModuleNatives(NativeTable n)
    {
        n.Add("module_owner", ModuleOwnerNative);
        n.Add("module_released", ModuleReleased);
        n.Add("modules_load", ModulesLoad);
        n.Add("modules_unload", ModulesUnload);
        n.Add("modules_is_loaded", ModulesIsLoaded);
        n.Add("modules_for", l =>
        {
            var host = _server.FindHost(l.OptString(1) ?? "");
            PushList(l, host is null ? [] : _server.Modules.ModulesFor(host).ToArray(), l.PushString);
            return 1;
        });
        n.Add("find_module", FindModule);
        n.Add("find_resource", FindResource);
        n.Add("embedded", Embedded);
    }

    private int Log(Lua lua)
    {
        var level = LevelOf(lua, 2);
        var logger = LoggerFor(lua.OptString(1) ?? "lua");
        if (logger.IsEnabled(level)) logger.Log(level, lua.RawString(3) ?? "");
        return 0;
    }

    // log_enabled(level) → whether a message at that level would be written.
    private static int LogEnabled(Lua lua)
    {
        lua.PushBoolean(LogManager.IsEnabled(LevelOf(lua, 1)));
        return 1;
    }

    private static LogLevel LevelOf(Lua lua, int index) => lua.OptString(index) switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Info,
        "warn" => LogLevel.Warn,
        _ => LogLevel.Error,
    };

    private int Embedded(Lua lua)
    {
        var text = EmbeddedText(lua.OptString(1) ?? "");
        if (text is null) lua.PushNil();
        else lua.PushString(text);
        return 1;
    }

    private int GetOption(Lua lua)
    {
        var key = lua.OptString(2) ?? throw new ArgumentException("option name expected");
        PushValue(lua, _server.Config.Get(OptHost(lua, 1), key));
        return 1;
    }

    // add_item(host, key, value, owner): Lua tables are held by reference so the same table
    // comes back to Lua (item-added handlers, get_host_items); identities also become
    // DiscoIdentity records and extension stanzas XmlElements for C# consumers such as a native disco.
    private int AddItem(Lua lua)
    {
        var host = RequireHost(lua, 1);
        var key = lua.OptString(2) ?? throw new ArgumentException("item key expected");
        var owner = lua.IsInteger(4) ? _owners.GetValueOrDefault(lua.ToInteger(4)) : null;
        object item;
        if (lua.Type(3) == LuaType.Table)
        {
            lua.PushCopy(3);
            var r = new LuaRef(lua.PopRef());
            item = key switch
            {
                "identity" => IdentityOf(lua, 3) ?? (object)r,
                // XEP-0128 forms (mod_server_contact_info's XEP-0157 form): a native disco
                // includes XmlElement extensions, so a stanza is converted once, here.
                "extension" when _stanzas.IsStanza(lua, 3) => _stanzas.Read(lua, 3),
                _ => r,
            };
            _itemTables[item] = r;
        }
        else item = ReadScalar(lua, 3) ?? throw new ArgumentException("item value expected");
        host.Items.Add(key, item, owner);
        return 0;
    }

    private static DiscoIdentity? IdentityOf(Lua lua, int index)
    {
        lua.RawGetField(index, "category");
        lua.RawGetField(index, "type");
        lua.RawGetField(index, "name");
        var category = lua.OptString(-3);
        var type = lua.OptString(-2);
        var name = lua.OptString(-1);
        lua.Pop(3);
        return category is null || type is null ? null : new DiscoIdentity(category, type, name);
    }

    private int RemoveItem(Lua lua)
    {
        var host = RequireHost(lua, 1);
        var key = lua.OptString(2) ?? throw new ArgumentException("item key expected");
        foreach (var item in host.Items.Get(key))
        {
            if (!Matches(lua, item, 3)) continue;
            host.Items.Remove(key, item);
            if (_itemTables.Remove(item, out var r)) lua.Release(r);
            break;
        }
        return 0;
    }

    private bool Matches(Lua lua, object item, int index)
    {
        if (_itemTables.TryGetValue(item, out var r))
        {
            lua.PushRef(r);
            bool same = lua.RawEqual(-1, index);
            lua.Pop(1);
            return same;
        }
        return lua.Type(index) == LuaType.String && item is string s && s == lua.ToString(index, false);
    }

    private int GetHostItems(Lua lua)
    {
        var host = RequireHost(lua, 1);
        var items = host.Items.Get(lua.OptString(2) ?? "");
        PushList(lua, items, item =>
        {
            if (_itemTables.TryGetValue(item, out var r) && !r.IsReleased) lua.PushRef(r);
            else PushValue(lua, item);
        });
        return 1;
    }

    private int ModulesUnload(Lua lua)
    {
        var hostName = lua.OptString(1) ?? "*";
        var name = lua.OptString(2) ?? "";
        // A global module whose load still waits is given up instead (LuaRuntime.Loading.cs).
        bool ok = hostName == "*" ? CancelLoad("*", name) || CallModuleEntry("unload_module", "*", name) is null : _server.Modules.Unload(RequireHost(lua, 1), name);
        lua.PushBoolean(ok);
        return 1;
    }

    private int ModulesIsLoaded(Lua lua)
    {
        lua.PushBoolean(_server.Modules.IsLoaded(lua.OptString(1) ?? "*", lua.OptString(2) ?? ""));
        return 1;
    }

    // Prosody's plugin search order within each directory (contract §1.1).
    private static string[] ModuleFileNames(string name) =>
    [
        $"mod_{name}/{name}/mod_{name}.lua",
        $"mod_{name}/mod_{name}.lua",
        $"{name}/mod_{name}.lua",
        $"mod_{name}.lua",
        $"share/lua/5.4/mod_{name}.lua",
        $"share/lua/5.4/mod_{name}/mod_{name}.lua",
    ];

    // Modules of ours that replace a Prosody core module built on pieces we do natively (mod_http
    // on core.portmanager and net.server): ours wins even when plugin_paths holds Prosody's file.
    private static readonly HashSet<string> OwnModulesFirst = new(StringComparer.Ordinal) { "http" };

    private string? FindModuleFile(string name)
    {
        if (name.Contains("..", StringComparison.Ordinal) || name.Contains('/')) return null;
        if (OwnModulesFirst.Contains(name) && _pluginPaths.Count > 0)
        {
            var own = _pluginPaths[^1];
            foreach (var relative in ModuleFileNames(name))
            {
                var path = Path.Combine(own, relative);
                if (File.Exists(path)) return path;
            }
        }
        return FindFile(ModuleFileNames(name));
    }

    private string? FindFile(IEnumerable<string> names)
    {
        var list = names as IReadOnlyList<string> ?? names.ToArray();
        foreach (var dir in _searchPaths)
        {
            foreach (var relative in list)
            {
                var path = Path.Combine(dir, relative);
                if (File.Exists(path)) return path;
            }
        }
        return null;
    }

    private int FindModule(Lua lua)
    {
        var path = FindModuleFile(lua.OptString(1) ?? "");
        return PushFile(lua, path);
    }

    private int FindResource(Lua lua)
    {
        var names = new List<string>();
        if (lua.Type(1) == LuaType.Table)
        {
            long count = lua.RawLen(1);
            for (long i = 1; i <= count; i++)
            {
                lua.RawGetInteger(1, i);
                if (lua.OptString(-1) is { } s && !s.Contains("..", StringComparison.Ordinal)) names.Add(s);
                lua.Pop(1);
            }
        }
        return PushFile(lua, FindFile(names));
    }

    private static int PushFile(Lua lua, string? path)
    {
        if (path is null)
        {
            lua.PushNil();
            return 1;
        }
        lua.PushString(path);
        lua.PushString(File.ReadAllText(path));
        return 2;
    }
}
