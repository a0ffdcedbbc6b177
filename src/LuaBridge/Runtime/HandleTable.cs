using System.Runtime.CompilerServices;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// Numeric handles for C# objects that Lua holds through proxy tables (connections, rosters):
/// an object keeps its number for life, and is reachable by number while Lua holds a proxy
/// for it (the proxy's finalizer releases it). Loop-thread only.
/// </summary>
internal sealed class HandleTable<T> where T : class
{
    private readonly ConditionalWeakTable<T, StrongBox<long>> _ids = new();
    private readonly Dictionary<long, T> _byId = new();
    private long _next;

    /// <summary>The object's handle, registering it as reachable.</summary>
    public long IdOf(T value)
    {
        var box = _ids.GetValue(value, _ => new StrongBox<long>(++_next));
        _byId[box.Value] = value;
        return box.Value;
    }

    public T? Get(long id) => _byId.GetValueOrDefault(id);

    /// <summary>The last proxy for this handle was collected.</summary>
    public void Release(long id) => _byId.Remove(id);
}
