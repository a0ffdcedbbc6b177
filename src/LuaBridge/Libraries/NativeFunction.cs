using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>A C# function exposed to Lua under a name. The delegate must be held in a static field so the GC never collects it while Lua can call it.</summary>
internal sealed record NativeFunction(string Name, LuaFunction Function);
