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

    /// <summary>Runs the chain; returns what <see cref="EventBus.Fire"/> returns.</summary>
    object? Run(EventBus bus, string name, EventData data);
}
