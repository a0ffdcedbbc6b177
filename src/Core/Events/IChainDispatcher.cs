namespace LuaXmpp.Events;

/// <summary>
/// Runs whole chains on behalf of an <see cref="EventBus"/> when they contain handlers it
/// claims. The Lua bridge uses it so that a chain with Lua handlers is walked inside a Lua
/// coroutine (util.async runner), where a handler may wait (Prosody runs stanza handling in
/// per-session runners). Chains without claimed handlers never reach it.
/// </summary>
public interface IChainDispatcher
{
    /// <summary>Whether this handler must run under the dispatcher (checked once per chain change).</summary>
    bool Claims(EventHandlerEntry entry);

    /// <summary>
    /// Runs the chain; completes with what <see cref="EventBus.FireAsync"/> completes with:
    /// synchronously (no allocation) when no handler waited, later when one did.
    /// <paramref name="mayWait"/> is false for <see cref="EventBus.Fire"/>, whose caller cannot
    /// go on later: then only handlers that wait by themselves suspend the chain.
    /// <paramref name="chain"/> is the bus's chain for <paramref name="name"/> at the fire.
    /// </summary>
    ValueTask<object?> Run(EventBus bus, string name, IReadOnlyList<EventHandlerEntry> chain, EventData data, bool mayWait);
}
