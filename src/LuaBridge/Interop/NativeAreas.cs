using KeraLua;

namespace LuaXmpp.LuaBridge.Interop;

/// <summary>
/// The primitives C# offers Lua, one <see cref="NativeTable"/> per area (sessions, storage,
/// archive, ...). The prelude publishes each as <c>package.loaded["luaxmpp.native.&lt;area&gt;"]</c>;
/// the Lua shims under <c>luaxmpp/</c> are written over them. There is no flat table: a file
/// that needs a primitive names its area (docs/BRIDGE.md, "Native areas").
/// </summary>
internal sealed class NativeAreas
{
    private readonly SortedDictionary<string, NativeTable> _areas = new(StringComparer.Ordinal);
    private readonly Func<Lua?> _current;
    private readonly Action<Lua?> _enter;

    /// <param name="current">The state of the native call in progress (see <see cref="NativeTable"/>).</param>
    /// <param name="enter">Sets that state.</param>
    public NativeAreas(Func<Lua?> current, Action<Lua?> enter)
    {
        _current = current;
        _enter = enter;
    }

    /// <summary>The table of one area, made on first use.</summary>
    public NativeTable Area(string name)
    {
        if (!_areas.TryGetValue(name, out var table))
        {
            table = new NativeTable(_current, _enter);
            _areas.Add(name, table);
        }
        return table;
    }

    /// <summary>Pushes a table mapping each area's name to its table of primitives.</summary>
    public void Push(Lua lua)
    {
        lua.CreateTable(0, _areas.Count);
        foreach (var (name, table) in _areas)
        {
            lua.PushString(name);
            table.Push(lua);
            lua.RawSet(-3);
        }
    }
}
