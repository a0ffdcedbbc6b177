using System.Collections.Concurrent;
using System.Reflection;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// Reads the Lua files embedded in this assembly (logical names "lua/util/stanza.lua", ...) for
/// the package searcher that <see cref="LuaLibraries"/> installs.
/// </summary>
internal static class EmbeddedLuaSource
{
    private static readonly Assembly Owner = typeof(EmbeddedLuaSource).Assembly;
    private static readonly ConcurrentDictionary<string, byte[]?> Cache = new(StringComparer.Ordinal);

    /// <summary>Lua: <c>read(path)</c> → source, or nil when no such resource exists.</summary>
    public static readonly LuaFunction ReadFunction = Read;

    /// <summary>The bytes of an embedded resource, or null.</summary>
    public static byte[]? Find(string path) => Cache.GetOrAdd(path, Load);

    private static int Read(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.Type(1) == LuaType.String ? lua.ToString(1) : null;
        var source = path is null ? null : Find(path);
        if (source is null) return NativeBoundary.Fail(lua, "no embedded resource '" + path + "'");
        lua.PushBuffer(source);
        return 1;
    });

    private static byte[]? Load(string path)
    {
        using var stream = Owner.GetManifestResourceStream(path);
        if (stream is null) return null;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
