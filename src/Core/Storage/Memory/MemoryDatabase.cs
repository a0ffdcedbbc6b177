namespace LuaXmpp.Storage.Memory;

/// <summary>
/// The "memory" driver (Prosody's mod_storage_memory): everything in process, gone at exit.
/// Stores hand out copies, so callers never share mutable tables with the store.
/// </summary>
internal sealed class MemoryDatabase : IStorageDriver
{
    private readonly Dictionary<(string Host, string Store, string User), DataTable> _tables = new();
    private readonly Dictionary<(string Host, string Store), List<MemoryArchiveEntry>> _archives = new();
    private long _nextSortId;

    public string Name => "memory";

    /// <summary>Guards all data of this driver; operations are short and never wait on anything else.</summary>
    internal object Gate { get; } = new();

    public IKeyValueStore OpenKeyValue(string host, string store) => new MemoryKeyValueStore(this, host, store);

    public IMapStore OpenMap(string host, string store) => new MemoryMapStore(this, host, store);

    public IArchiveStore OpenArchive(string host, string store) => new MemoryArchiveStore(this, host, store);

    public Task PurgeUserAsync(string host, string user)
    {
        lock (Gate)
        {
            foreach (var key in _tables.Keys.Where(k => k.Host == host && k.User == user).ToList()) _tables.Remove(key);
            foreach (var ((h, _), entries) in _archives)
            {
                if (h == host) entries.RemoveAll(e => e.User == user);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The live table (caller holds <see cref="Gate"/>), or null.</summary>
    internal DataTable? Table(string host, string store, string user) => _tables.GetValueOrDefault((host, store, user));

    /// <summary>Replaces or (with null/empty) removes the live table; caller holds <see cref="Gate"/>.</summary>
    internal void SetTable(string host, string store, string user, DataTable? table)
    {
        if (table is null || table.Count == 0) _tables.Remove((host, store, user));
        else _tables[(host, store, user)] = table;
    }

    internal IEnumerable<string> Users(string host, string store) =>
        _tables.Keys.Where(k => k.Host == host && k.Store == store && k.User.Length > 0).Select(k => k.User);

    /// <summary>The live archive of a store, in sort order; caller holds <see cref="Gate"/>.</summary>
    internal List<MemoryArchiveEntry> Archive(string host, string store)
    {
        if (!_archives.TryGetValue((host, store), out var list)) _archives[(host, store)] = list = new();
        return list;
    }

    internal long NextSortId() => ++_nextSortId;

    public void Dispose()
    {
    }
}
