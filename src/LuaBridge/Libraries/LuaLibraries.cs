using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// Installs our implementations of Prosody's libraries into a Lua state: a package searcher that
/// serves the embedded Lua files (util.*, core.*, net.*) and the native ones (util.encodings,
/// util.hashes, util.time, ...) in package.preload.
/// </summary>
/// <remarks>
/// The searcher goes first in package.searchers so that an installed Prosody on LUA_PATH can never
/// shadow our files. Native libraries are two layers: raw C# functions that never raise (see
/// <see cref="NativeBoundary"/>) and a Lua shim per library that shapes the module as Prosody's and
/// raises where Prosody raises. Both are handed to a Lua installer chunk as arguments, so no
/// global ever exposes the raw functions.
/// </remarks>
public static class LuaLibraries
{
    private const string Installer = """
        local read_resource, natives = ...
        local function embedded_searcher(name)
          local path = "lua/" .. name:gsub("%.", "/") .. ".lua"
          local source = read_resource(path)
          if not source then return "\n\tno embedded resource '" .. path .. "'" end
          local chunk, err = load(source, "@" .. path, "t")
          if not chunk then
            error(("error loading module '%s' from embedded resource '%s':\n\t%s"):format(name, path, err), 2)
          end
          return chunk, path
        end
        table.insert(package.searchers, 1, embedded_searcher)
        for _, lib in ipairs(natives) do
          local shim = assert(load(lib.shim, "=[native " .. lib.name .. "]", "t"))
          local raw = lib.raw
          package.preload[lib.name] = function() return shim(raw) end
        end
        """;

    /// <summary>Installs the libraries; util.time reads the system clock.</summary>
    public static void Install(Lua lua) => Install(lua, null);

    /// <summary>Installs the libraries; util.time reads <paramref name="time"/> (the system clock when null).</summary>
    public static void Install(Lua lua, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(lua);
        var clock = new TimeLibrary(time ?? TimeProvider.System);
        clock.Attach(lua);
        INativeLibrary[] natives =
        [
            new EncodingsLibrary(), new HashesLibrary(), clock, new TableLibrary(),
            new PosixLibrary(), new CryptoRandomLibrary(), new Xml.XmlScanLibrary(), new FileSystemLibrary(), new NetLibrary(), new ProcessLibrary(),
            new X509Library(),
        ];
        using var scope = LuaStack.Enter(lua);
        if (lua.LoadString(Installer, "=[LuaXmpp library installer]") != LuaStatus.OK)
        {
            throw new InvalidOperationException("library installer does not compile: " + lua.ToString(-1));
        }
        lua.PushCFunction(EmbeddedLuaSource.ReadFunction);
        PushNativeList(lua, natives);
        if (scope.PCall(2, 0) != LuaStatus.OK)
        {
            var message = lua.ToString(-1);
            lua.Pop(1);
            throw new InvalidOperationException("installing the Lua libraries failed: " + message);
        }
    }

    private static void PushNativeList(Lua lua, IReadOnlyList<INativeLibrary> natives)
    {
        lua.CreateTable(natives.Count, 0);
        for (int i = 0; i < natives.Count; i++)
        {
            var lib = natives[i];
            lua.CreateTable(0, 3);
            lua.PushString(lib.Name);
            lua.SetField(-2, "name");
            NativeBoundary.PushUtf8(lua, lib.Shim);
            lua.SetField(-2, "shim");
            NativeBoundary.PushFunctionTable(lua, lib.Functions);
            lua.SetField(-2, "raw");
            lua.RawSetInteger(-2, i + 1);
        }
    }
}
