using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>A minimal in-memory IStorageManager for module tests (keyval and map share rows).</summary>
public sealed class MemoryStorage : IStorageManager
{
    private readonly Dictionary<(string Host, string Store), Dictionary<string, DataTable>> _tables = new();
    private readonly Dictionary<(string Host, string Store), MemoryArchive> _archives = new();

    public Dictionary<string, DataTable> Table(string host, string store)
    {
        if (!_tables.TryGetValue((host, store), out var t)) _tables[(host, store)] = t = new(StringComparer.Ordinal);
        return t;
    }

    public IKeyValueStore OpenKeyValue(string host, string store) => new KeyValue(Table(host, store));

    public IMapStore OpenMap(string host, string store) => new Map(Table(host, store));

    public IArchiveStore OpenArchive(string host, string store)
    {
        if (!_archives.TryGetValue((host, store), out var a)) _archives[(host, store)] = a = new MemoryArchive();
        return a;
    }

    public Task PurgeUserAsync(string host, string user)
    {
        foreach (var ((h, _), t) in _tables) if (h == host) t.Remove(user);
        foreach (var ((h, _), a) in _archives) if (h == host) a.Items.RemoveAll(i => i.User == user);
        return Task.CompletedTask;
    }

    private sealed class KeyValue(Dictionary<string, DataTable> rows) : IKeyValueStore
    {
        public Task<DataTable?> GetAsync(string? user) =>
            Task.FromResult(rows.TryGetValue(user ?? "", out var t) ? new DataTable(t) : null);

        public Task SetAsync(string? user, DataTable? data)
        {
            if (data is null || data.Count == 0) rows.Remove(user ?? "");
            else rows[user ?? ""] = new DataTable(data);
            return Task.CompletedTask;
        }

        public async IAsyncEnumerable<string> UsersAsync()
        {
            await Task.CompletedTask;
            foreach (var k in rows.Keys.ToArray()) yield return k;
        }
    }

    private sealed class Map(Dictionary<string, DataTable> rows) : IMapStore
    {
        public Task<object?> GetAsync(string? user, object key) =>
            Task.FromResult(rows.TryGetValue(user ?? "", out var t) ? t.GetValueOrDefault(key) : null);

        public Task SetAsync(string? user, object key, object? value) =>
            SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

        public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
        {
            if (!rows.TryGetValue(user ?? "", out var t)) rows[user ?? ""] = t = new DataTable();
            foreach (var (k, v) in values)
            {
                if (v is null) t.Remove(k);
                else t[k] = v;
            }
            return Task.CompletedTask;
        }
    }
}

/// <summary>An in-memory archive store.</summary>
public sealed class MemoryArchive : IArchiveStore
{
    private long _next;

    public List<(string? User, ArchiveItem Item)> Items { get; } = new();

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        key ??= "id" + (++_next);
        Items.Add((user, new ArchiveItem(key, when, with, value.Clone())));
        return Task.FromResult(key);
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query)
    {
        var items = Items.Where(i => i.User == user && Matches(i.Item, query)).Select(i => i.Item).ToList();
        if (query.Limit is { } limit) items = items.Take(limit).ToList();
        return Task.FromResult(new ArchiveResult(items, items.Count));
    }

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) =>
        Task.FromResult((long)Items.RemoveAll(i => i.User == user && Matches(i.Item, query)));

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) =>
        Task.FromResult((long)Items.RemoveAll(i => i.Item.When < cutoff));

    private static bool Matches(ArchiveItem item, ArchiveQuery query) =>
        (query.Ids is null || query.Ids.Contains(item.Key)) && (query.With is null || query.With == item.With);
}
