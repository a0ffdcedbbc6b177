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

    /// <summary>Runs the chain; returns the first non-null result, or null if no handler took it.</summary>
    public object? Fire(string name, EventData data)
    {
        if (!_chains.TryGetValue(name, out var chain)) return null;
        if (_dispatcher is { } dispatcher && IsDispatched(dispatcher, name, chain)) return dispatcher.Run(this, name, data);
        foreach (var entry in chain)
        {
            if (entry.Removed) continue;
            var result = entry.Callback(data);
            if (result is not null) return result;
        }
        return null;
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
