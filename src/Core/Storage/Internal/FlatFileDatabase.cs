using System.Collections.Concurrent;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// The "internal" driver: Prosody 0.12's flat files under data_path, laid out as
/// mod_storage_internal and util.datamanager lay them out (see <see cref="DataPathLayout"/>), so
/// Prosody and LuaXmpp can be swapped on one data directory. Keyval data is one <c>.dat</c> file
/// per user and store (a map store reads and rewrites the same file, as Prosody's map shim does);
/// archives are <c>.list</c> files appended item by item (<see cref="FlatFileArchiveStore"/>).
/// Writes run in issue order on one writer thread; reads see every write issued before them.
/// </summary>
internal sealed class FlatFileDatabase : IStorageDriver
{
    private const long IndexBudget = 1_000_000;
    private const int EvictionCheckInterval = 256;

    private readonly OrderedWriter _writer = new("luaxmpp-internal-writer");
    private long _opens;
    private readonly ConcurrentDictionary<string, ArchiveList> _lists = new();

    public FlatFileDatabase(string dataPath)
    {
        Layout = new DataPathLayout(Path.GetFullPath(dataPath));
    }

    public string Name => "internal";

    public DataPathLayout Layout { get; }

    internal OrderedWriter Writer => _writer;

    public IKeyValueStore OpenKeyValue(string host, string store) => new FlatFileKeyValueStore(this, host, store);

    public IMapStore OpenMap(string host, string store) => new FlatFileMapStore(this, host, store);

    public IArchiveStore OpenArchive(string host, string store) => new FlatFileArchiveStore(this, host, store);

    /// <summary>Removes the user's .dat and .list file from every store directory of the host (datamanager.purge).</summary>
    public Task PurgeUserAsync(string host, string user) => _writer.WriteAsync(() =>
    {
        foreach (var store in Layout.Stores(host))
        {
            DataFiles.Delete(Layout.FileFor(host, store, user, DataPathLayout.KeyValueExtension));
            var list = Layout.FileFor(host, store, user, DataPathLayout.ListExtension);
            DataFiles.Delete(list);
            _lists.TryRemove(list, out _);
        }
        return true;
    });

    /// <summary>A user's keyval table, or null when there is none. Call on a read or write job.</summary>
    internal DataTable? Load(string host, string store, string? user)
    {
        var path = Layout.FileFor(host, store, user, DataPathLayout.KeyValueExtension);
        var bytes = DataFiles.ReadAll(path, DataFiles.MaxDatBytes);
        if (bytes is null) return null;
        object? value;
        try
        {
            value = LuaDataReader.ReadReturn(bytes);
        }
        catch (FormatException ex)
        {
            throw DataFiles.Refuse(path, ex.Message);
        }
        return value switch
        {
            null => null,
            DataTable t => t.Count == 0 ? null : t,
            _ => throw DataFiles.Refuse(path, "it returns a " + value.GetType().Name + ", not a table"),
        };
    }

    /// <summary>Writes (or, with no data, removes) a keyval file. Call on a write job.</summary>
    internal void Save(string host, string store, string? user, DataTable? data)
    {
        var path = Layout.FileFor(host, store, user, DataPathLayout.KeyValueExtension);
        if (data is null || data.Count == 0)
        {
            // Prosody writes "return {};" and then removes the file; the result is the same.
            if (File.Exists(path)) DataFiles.Delete(path);
            return;
        }
        DataFiles.WriteAtomically(path, LuaDataWriter.Return(data));
    }

    /// <summary>The index of one archive file, shared by every store object opened on it.</summary>
    internal ArchiveList List(string host, string store, string? user)
    {
        var path = Layout.FileFor(host, store, user, DataPathLayout.ListExtension);
        var list = _lists.GetOrAdd(path, p => new ArchiveList(p));
        list.LastUsed = Environment.TickCount64;
        if (Interlocked.Increment(ref _opens) % EvictionCheckInterval == 0) Evict();
        return list;
    }

    /// <summary>
    /// Keeps the archive indexes within <see cref="IndexBudget"/> items (about 85 bytes each, so
    /// ~85 MB) by dropping the least recently used; a dropped index is rebuilt from its file on next
    /// use. An operation still holding a dropped list is safe: every use re-checks the file first.
    /// </summary>
    private void Evict()
    {
        long total = _lists.Values.Sum(l => (long)l.CachedCount);
        if (total <= IndexBudget) return;
        foreach (var (path, list) in _lists.OrderBy(kv => kv.Value.LastUsed).ToList())
        {
            if (total <= IndexBudget / 2) break;
            if (_lists.TryRemove(path, out _)) total -= list.CachedCount;
        }
    }

    public void Dispose() => _writer.Dispose();
}
