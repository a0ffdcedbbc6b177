using System.Globalization;
using LuaXmpp.Logging;

namespace LuaXmpp.Storage.Internal;

/// <summary>One item of an archive file: what queries filter on, and where its text is.</summary>
internal readonly record struct ListEntry(string Key, long When, string? With, long Offset, int Length);

/// <summary>
/// The in-memory index of one <c>.list</c> file: per item its key, time, peer and byte range, so a
/// MAM query filters in memory and parses only the page it returns (Prosody parses the whole file
/// on every query). Built on first use and whenever the file changed behind our back (its length
/// or modification time differ from what we last wrote), kept up to date by our own appends and
/// rewrites. Callers hold <see cref="Gate"/> for every use.
/// </summary>
internal sealed class ArchiveList(string path)
{
    private static readonly Logger Log = Logger.For("storage_internal");

    private List<ListEntry> _entries = [];
    private bool _loaded;
    private long _validLength; // bytes of whole items; a torn last item after it is cut off by the next append
    private long _fileLength = -1;
    private DateTime _modified;
    private int _cachedCount;

    public string Path => path;

    /// <summary>Items in the index as last built (read without the gate, for the cache budget).</summary>
    public int CachedCount => Volatile.Read(ref _cachedCount);

    /// <summary>When the list was last opened (Environment.TickCount64), for evicting the least recently used.</summary>
    public long LastUsed { get; set; }

    public object Gate { get; } = new();

    /// <summary>The items in file order (oldest first), re-read if the file changed. Caller holds <see cref="Gate"/>.</summary>
    public List<ListEntry> Entries()
    {
        Refresh();
        return _entries;
    }

    /// <summary>Where the next item goes. Caller holds <see cref="Gate"/>.</summary>
    public long AppendOffset()
    {
        Refresh();
        return _validLength;
    }

    /// <summary>Records items just written at the end of the file. Caller holds <see cref="Gate"/>.</summary>
    public void Appended(IEnumerable<ListEntry> entries, long newLength)
    {
        _entries.AddRange(entries);
        _validLength = newLength;
        Remember();
    }

    /// <summary>Records a rewrite of the whole file. Caller holds <see cref="Gate"/>.</summary>
    public void Replaced(List<ListEntry> entries, long newLength)
    {
        _entries = entries;
        _validLength = newLength;
        Remember();
    }

    /// <summary>Parses the items at the given entries (one open of the file). Caller holds <see cref="Gate"/>.</summary>
    public List<DataTable> Read(IReadOnlyList<ListEntry> entries)
    {
        var result = new List<DataTable>(entries.Count);
        if (entries.Count == 0) return result;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            foreach (var entry in entries)
            {
                var bytes = new byte[entry.Length];
                stream.Position = entry.Offset;
                stream.ReadExactly(bytes);
                var reader = new LuaDataReader(bytes);
                if (!reader.TryReadItem(out var value, out _, out _) || value is not DataTable item) throw DataFiles.Refuse(path, "an indexed item is gone; the file changed while it was read");
                result.Add(item);
            }
        }
        catch (FormatException ex)
        {
            _loaded = false;
            throw DataFiles.Refuse(path, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _loaded = false;
            throw new StorageException(StorageFailure.Unavailable, $"Cannot read {path}: {ex.Message}", ex);
        }
        return result;
    }

    private void Refresh()
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            _entries = [];
            _validLength = 0;
            _fileLength = -1;
            _loaded = true;
            return;
        }
        if (_loaded && info.Length == _fileLength && info.LastWriteTimeUtc == _modified) return;
        var bytes = DataFiles.ReadAll(path, DataFiles.MaxListBytes) ?? [];
        Index(bytes);
        Volatile.Write(ref _cachedCount, _entries.Count);
        _fileLength = bytes.Length;
        _modified = info.LastWriteTimeUtc;
        _loaded = true;
    }

    private void Remember()
    {
        Volatile.Write(ref _cachedCount, _entries.Count);
        var info = new FileInfo(path);
        _fileLength = info.Exists ? info.Length : -1;
        _modified = info.Exists ? info.LastWriteTimeUtc : default;
        _loaded = true;
    }

    private void Index(byte[] bytes)
    {
        var entries = new List<ListEntry>();
        var peers = new Dictionary<string, string>(); // one string per peer: 100k items often have a few dozen
        var reader = new LuaDataReader(bytes);
        int start = 0;
        try
        {
            while (reader.TryReadItem(out var value, out start, out int end))
            {
                if (value is not DataTable item) throw DataFiles.Refuse(path, $"item {entries.Count + 1} is not a table");
                entries.Add(Describe(item, entries.Count + 1, start, end - start, peers));
            }
            _validLength = bytes.Length;
        }
        catch (TruncatedDataException)
        {
            // A write cut short (crash, full disk): the items before it are whole. The next append overwrites the tail.
            Log.Warn($"{path}: the last item is incomplete (from byte {start}); it is ignored and overwritten by the next append");
            _validLength = start;
        }
        catch (FormatException ex)
        {
            throw DataFiles.Refuse(path, ex.Message);
        }
        _entries = entries;
    }

    /// <summary>Prosody's fields: key (or the position), when (or the stamp attribute), with.</summary>
    private static ListEntry Describe(DataTable item, int position, int offset, int length, Dictionary<string, string> peers)
    {
        string key = item.GetString("key") ?? position.ToString(CultureInfo.InvariantCulture);
        long when = item.GetValueOrDefault("when") switch
        {
            long l => l,
            double d when double.IsFinite(d) => (long)Math.Floor(d),
            _ => ArchiveItemCodec.ParseStamp(item.GetTable("attr")?.GetString("stamp")),
        };
        string? with = item.GetString("with");
        if (with is not null)
        {
            if (peers.TryGetValue(with, out var shared)) with = shared;
            else peers[with] = with;
        }
        return new ListEntry(key, when, with, offset, length);
    }
}
