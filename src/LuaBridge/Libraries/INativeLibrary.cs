namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// A library implemented in C# and registered in package.preload. Its raw functions are handed to
/// <see cref="Shim"/>, a Lua chunk that receives them as <c>...</c> and returns the public module
/// (the shim checks arguments and raises where Prosody's C library raises).
/// </summary>
internal interface INativeLibrary
{
    /// <summary>The name modules pass to require, e.g. "util.hashes".</summary>
    string Name { get; }

    /// <summary>The raw natives, each following <see cref="NativeBoundary"/>.</summary>
    IReadOnlyList<NativeFunction> Functions { get; }

    /// <summary>Lua source: <c>local raw = ...</c>, returns the module table.</summary>
    string Shim { get; }
}
