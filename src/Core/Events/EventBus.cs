namespace LuaXmpp.Events;

/// <summary>A handler; a non-null return stops the chain and is what <see cref="EventBus.Fire"/> returns.</summary>
public delegate object? EventCallback(EventData e);

/// <summary>
/// One bus of named events with Prosody's semantics (util/events.lua): handlers run by priority,
/// highest first (ties in registration order), and any non-null result stops the chain. There is
/// one bus per host and one global bus. C# handlers and the Lua bridge's handlers share the chain.
/// </summary>
/// <remarks>Loop-thread only: it is not locked. Chains are immutable snapshots, so a handler may
/// hook or unhook while the chain it runs in goes on unchanged.</remarks>
public sealed class EventBus
{
    private static readonly EventHandlerEntry[] Empty = [];
    private readonly Dictionary<string, EventHandlerEntry[]> _chains = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _dispatched = new(StringComparer.Ordinal);
    private IChainDispatcher? _dispatcher;
    private long _sequence;

    public EventBus(string name) => Name = name;

    /// <summary>"*" for the global bus, otherwise the host name.</summary>
    public string Name { get; }

    /// <summary>Raised after a chain gains or loses a handler (the bridge uses it to cache).</summary>
    public event Action<string>? ChainChanged;

    /// <summary>Runs the chains that hold handlers it claims (the Lua bridge); null runs every chain here.</summary>
    public IChainDispatcher? Dispatcher
    {
        get => _dispatcher;
        set
        {
            _dispatcher = value;
            _dispatched.Clear();
        }
    }

    public IDisposable Hook(string name, EventCallback callback, double priority = 0, object? owner = null)
    {
        var entry = new EventHandlerEntry(name, callback, priority, ++_sequence, owner);
        var chain = _chains.TryGetValue(name, out var c) ? c : Empty;
        var next = new EventHandlerEntry[chain.Length + 1];
        int i = 0, j = 0;
        while (i < chain.Length && chain[i].SortsBefore(entry)) next[j++] = chain[i++];
        next[j++] = entry;
        while (i < chain.Length) next[j++] = chain[i++];
        _chains[name] = next;
        Changed(name);
        return new Subscription(this, entry);
    }

    public bool Unhook(string name, EventCallback callback)
    {
        if (!_chains.TryGetValue(name, out var chain)) return false;
        var entry = Array.Find(chain, e => e.Callback == callback);
        return entry is not null && Remove(entry);
    }

    /// <summary>Removes every handler hooked with that owner (a module being unloaded).</summary>
    public void UnhookOwner(object owner)
    {
        foreach (var (name, chain) in _chains.ToArray())
        {
            if (Array.Exists(chain, e => e.Owner == owner))
            {
                _chains[name] = Array.FindAll(chain, e => e.Owner != owner);
                Changed(name);
            }
        }
    }

    public bool HasHandlers(string name) => _chains.TryGetValue(name, out var c) && c.Length > 0;

    public IReadOnlyList<EventHandlerEntry> Handlers(string name) =>
        _chains.TryGetValue(name, out var c) ? c : Empty;

    /// <summary>
    /// Runs the chain without waiting for it: returns the first non-null result, null if no
    /// handler took it, or true ("handled") when a handler waits — the rest of the chain then
    /// runs when the wait ends, but the caller is not resumed. Callers that must go on after
    /// the chain (the router) use <see cref="FireAsync"/>.
    /// </summary>
    /// <remarks>
    /// A caller that cannot go on later must not be left with a chain half run: here a C#
    /// handler's Task and a nested routing pass are not waited for (the chain goes on as if they
    /// handled it, as before passes could wait). A Lua handler that waits (util.async, or storage
    /// that is not done yet) suspends the chain, and the caller hears "handled"; nothing waits
    /// on the loop.
    /// </remarks>
    public object? Fire(string name, EventData data) => TryFire(name, data, out var result) ? result : true;

    /// <summary>
    /// As <see cref="Fire"/>, for a caller that cannot go on later but must know whether the
    /// chain finished: false when a handler waited (the rest of the chain then runs when the wait
    /// ends, and <paramref name="result"/> is null), true with the chain's result otherwise.
    /// </summary>
    public bool TryFire(string name, EventData data, out object? result)
    {
        var pending = FireCore(name, data, mayWait: false);
        if (pending.IsCompletedSuccessfully)
        {
            result = pending.Result;
            return true;
        }
        Pending.Forget(pending);
        result = null;
        return false;
    }

    /// <summary>The owners (modules) with a handler on the chain, for a log line about it.</summary>
    public string DescribeOwners(string name) =>
        string.Join(", ", Handlers(name).Select(h => h.Owner?.ToString()).OfType<string>().Distinct());

    /// <summary>
    /// Runs the chain; completes with the first non-null result, or null if no handler took it.
    /// A handler may wait (contract §0.8): a Lua handler in its runner, a C# handler by returning
    /// an unfinished <see cref="Task{TResult}"/> of object? (its result is the handler's result);
    /// the chain then goes on when the wait ends. A chain in which nothing waits completes
    /// synchronously and allocates nothing.
    /// </summary>
    public ValueTask<object?> FireAsync(string name, EventData data) => FireCore(name, data, mayWait: true);

    private ValueTask<object?> FireCore(string name, EventData data, bool mayWait)
    {
        if (!_chains.TryGetValue(name, out var chain)) return default;
        if (_dispatcher is { } dispatcher && IsDispatched(dispatcher, name, chain)) return dispatcher.Run(this, name, chain, data, mayWait);
        for (int i = 0; i < chain.Length; i++)
        {
            var entry = chain[i];
            if (entry.Removed) continue;
            var result = entry.Callback(data);
            if (result is null) continue;
            if (result is Task<object?> task)
            {
                if (!task.IsCompleted) return ContinueAsync(chain, i, task, data);
                result = Pending.ResultOf(task);
                if (result is null) continue;
            }
            return new ValueTask<object?>(result);
        }
        return default;
    }

    private static async ValueTask<object?> ContinueAsync(EventHandlerEntry[] chain, int waited, Task<object?> task, EventData data)
    {
        await Pending.Settle(task);
        var result = Pending.ResultOf(task);
        for (int i = waited + 1; result is null && i < chain.Length; i++)
        {
            var entry = chain[i];
            if (entry.Removed) continue;
            result = entry.Callback(data);
            if (result is Task<object?> next)
            {
                await Pending.Settle(next);
                result = Pending.ResultOf(next);
            }
        }
        return result;
    }

    private bool IsDispatched(IChainDispatcher dispatcher, string name, EventHandlerEntry[] chain)
    {
        if (!_dispatched.TryGetValue(name, out var dispatched))
            _dispatched[name] = dispatched = Array.Exists(chain, dispatcher.Claims);
        return dispatched;
    }

    private void Changed(string name)
    {
        _dispatched.Remove(name);
        ChainChanged?.Invoke(name);
    }

    private bool Remove(EventHandlerEntry entry)
    {
        if (!_chains.TryGetValue(entry.Name, out var chain)) return false;
        int i = Array.IndexOf(chain, entry);
        if (i < 0) return false;
        entry.Removed = true;
        _chains[entry.Name] = [.. chain[..i], .. chain[(i + 1)..]];
        Changed(entry.Name);
        return true;
    }

    private sealed class Subscription(EventBus bus, EventHandlerEntry entry) : IDisposable
    {
        public void Dispose() => bus.Remove(entry);
    }
}
