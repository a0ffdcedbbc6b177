using System.Text;
using KeraLua;
using LuaXmpp.Configuration;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Logging;

namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// Evaluates a prosody.cfg.lua the way Prosody 0.12's configmanager does: a Lua chunk whose
/// assignments become options of the current section, with VirtualHost, Component and Include.
/// Each load runs in a fresh Lua state that is closed afterwards.
/// </summary>
public static class ConfigLoader
{
    private static readonly Logger Log = Logger.For("config");

    public static ServerConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = System.IO.Path.GetFullPath(path);
        byte[] text;
        try
        {
            text = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(full, null, $"cannot read config file: {e.Message}");
        }
        var directory = System.IO.Path.GetDirectoryName(full) ?? "/";
        return Evaluate(text, null, full, directory, full);
    }

    /// <summary>
    /// Evaluates config text. <paramref name="chunkName"/> names it in errors; Include and the
    /// File* functions resolve relative paths against <paramref name="baseDirectory"/>
    /// (the current directory when null).
    /// </summary>
    public static ServerConfig LoadFromString(string text, string chunkName, string? baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(chunkName);
        var directory = System.IO.Path.GetFullPath(baseDirectory ?? Environment.CurrentDirectory);
        return Evaluate(Encoding.UTF8.GetBytes(text), chunkName, chunkName, directory, null);
    }

    private static ServerConfig Evaluate(byte[] text, string? chunkName, string errorFile, string directory, string? serverPath)
    {
        var natives = new ConfigNatives();
        var lua = new Lua(openLibs: false);
        try
        {
            lua.OpenBasicLibrary();
            lua.OpenStringLibrary();
            lua.OpenTableLibrary();
            lua.OpenMathLibrary();
            // Prosody evaluates the config with its whole global table in reach: require,
            // package (package.path, package.preload), io, os, utf8, coroutine.
            lua.OpenPackageLibrary();
            lua.OpenIOLibrary();
            lua.OpenOSLibrary();
            lua.OpenUTF8Library();
            lua.OpenCoroutineLibrary();
            lua.OpenDebugLibrary();
            lua.SetTop(0);
            using var scope = LuaStack.Enter(lua);

            if (lua.LoadString(ConfigScript.Driver, "=config") != LuaStatus.OK)
                throw new InvalidOperationException("config driver does not compile: " + lua.ToString(-1, false));
            natives.Push(lua);
            lua.PushBuffer(text);
            if (chunkName is null) lua.PushNil();
            else lua.PushString(chunkName);
            lua.PushString(errorFile);
            lua.PushString(directory);
            if (scope.PCall(5, 1) != LuaStatus.OK)
                throw new ConfigException(errorFile, null, lua.ToString(-1, false) ?? "error while evaluating the config");
            return ReadResult(lua, errorFile, serverPath);
        }
        finally
        {
            lua.Dispose();
            // Finalizers a config sets can still call the natives while the state closes.
            GC.KeepAlive(natives);
        }
    }

    private static ServerConfig ReadResult(Lua lua, string errorFile, string? serverPath)
    {
        using var scope = LuaStack.Enter(lua);
        int result = scope.Top;
        lua.GetField(result, "ok");
        bool ok = lua.ToBoolean(-1);
        lua.Pop(1);
        if (!ok) throw ReadError(lua, result, errorFile);

        foreach (var warning in ReadStrings(lua, result, "warnings")) Log.Warn(warning);
        var converter = new LuaConfigValues(lua);

        lua.GetField(result, "sections");
        int sections = lua.GetTop();
        var global = ReadSection(lua, converter, sections, "*");
        var hosts = new List<HostConfig>();
        foreach (var name in ReadStrings(lua, result, "order"))
        {
            var options = ReadSection(lua, converter, sections, name);
            var module = ConfigValues.AsString(options.GetValueOrDefault("component_module"));
            hosts.Add(new HostConfig(name, module is null ? HostKind.VirtualHost : HostKind.Component, module, options));
        }
        scope.Reset();

        foreach (var dropped in converter.Dropped) Log.Warn($"Config value ignored, it has no config meaning: {dropped}");
        return new ServerConfig(serverPath, global, hosts);
    }

    private static ConfigException ReadError(Lua lua, int result, string errorFile)
    {
        lua.GetField(result, "file");
        var file = lua.Type(-1) == LuaType.String ? lua.ToString(-1, false) : errorFile;
        lua.GetField(result, "line");
        int? line = lua.IsInteger(-1) ? (int)lua.ToInteger(-1) : null;
        lua.GetField(result, "message");
        var message = lua.ToString(-1, false) ?? "unknown error";
        lua.Pop(3);
        return new ConfigException(file, line, message);
    }

    private static Dictionary<string, object?> ReadSection(Lua lua, LuaConfigValues converter, int sections, string name)
    {
        var options = new Dictionary<string, object?>(StringComparer.Ordinal);
        lua.GetField(sections, name);
        if (converter.Convert(-1, name) is ConfigTable table)
        {
            foreach (var (key, value) in table.Hash)
            {
                if (key is string s) options[s] = value;
                else Log.Warn($"Config option with a non-string name ignored in section {name}: {key}");
            }
            if (table.Array.Count > 0) Log.Warn($"Config options with numeric names ignored in section {name}");
        }
        lua.Pop(1);
        return options;
    }

    private static List<string> ReadStrings(Lua lua, int table, string field)
    {
        var list = new List<string>();
        lua.GetField(table, field);
        for (long i = 1; lua.RawGetInteger(-1, i) == LuaType.String; i++)
        {
            list.Add(lua.ToString(-1, false));
            lua.Pop(1);
        }
        lua.Pop(2);
        return list;
    }
}
