namespace LuaXmpp.Events;

/// <summary>One handler in a chain.</summary>
public sealed class EventHandlerEntry(string name, EventCallback callback, double priority, long sequence, object? owner)
{
    public string Name { get; } = name;
    public EventCallback Callback { get; } = callback;
    public double Priority { get; } = priority;
    public long Sequence { get; } = sequence;

    /// <summary>The module (or other owner) that hooked it, for unhooking on unload.</summary>
    public object? Owner { get; } = owner;

    /// <summary>Set when unhooked, so a chain already running skips it.</summary>
    internal bool Removed { get; set; }

    internal bool SortsBefore(EventHandlerEntry other) =>
        Priority > other.Priority || (Priority == other.Priority && Sequence < other.Sequence);
}
