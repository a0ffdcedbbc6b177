using LuaXmpp.Events;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>A Lua function hooked on a C# <see cref="EventBus"/>: its callback enters Lua.</summary>
internal sealed class LuaHandler
{
    private readonly LuaRuntime _runtime;

    public LuaHandler(LuaRuntime runtime, long id, EventBus bus, string eventName, LuaRef function, ModuleOwner? owner)
    {
        _runtime = runtime;
        Id = id;
        Bus = bus;
        EventName = eventName;
        Function = function;
        Owner = owner;
        Callback = Invoke;
    }

    public long Id { get; }

    public EventBus Bus { get; }

    public string EventName { get; }

    public LuaRef Function { get; }

    public ModuleOwner? Owner { get; }

    /// <summary>The delegate on the bus; kept so that it can be recognised in a chain.</summary>
    public EventCallback Callback { get; }

    public IDisposable? Subscription { get; set; }

    private object? Invoke(EventData e) => _runtime.InvokeHandler(this, e);
}
