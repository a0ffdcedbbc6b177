namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// Installs our implementations of Prosody's libraries into a Lua state: a package searcher that
/// serves the embedded Lua files (util.*, core.*, net.*) and the native ones (util.encodings,
/// util.hashes, util.time, ...) in package.preload.
/// </summary>
public static class LuaLibraries
{
    public static void Install(KeraLua.Lua lua)
    {
        ArgumentNullException.ThrowIfNull(lua);
    }
}
