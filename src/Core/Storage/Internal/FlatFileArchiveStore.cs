using System.Text;
using LuaXmpp.Logging;
using LuaXmpp.Xml;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// An archive store in DATA/HOST/STORE/USER.list, one <c>item({...});</c> per archived stanza in
/// the order appended (mod_storage_internal). New items are appended to the file; a replaced key or
/// a delete rewrites it atomically, keeping the other items' text as it was. Queries have the
/// semantics of the other drivers (<see cref="ArchiveQuery"/>) over the file's in-memory index
/// (<see cref="ArchiveList"/>); only the page returned is parsed.
/// </summary>
internal sealed class FlatFileArchiveStore(FlatFileDatabase db, string host, string store) : IArchiveStore, IArchiveBatchStore
{
    private static readonly Logger Log = Logger.For("storage_internal");

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        var id = key ?? ArchiveItemCodec.NewKey();
        var text = LuaDataWriter.Item(ArchiveItemCodec.ToItem(value, id, when, with));
        return db.Writer.WriteAsync(() =>
        {
            var list = db.List(host, store, user);
            lock (list.Gate)
            {
                // An existing key is replaced and the item moves to the end, as in Prosody.
                if (key is not null && list.Entries().Any(e => e.Key == key)) Rewrite(list, e => e.Key == key);
                Append(list, [(id, when, with, text)], durable: false);
            }
            return id;
        });
    }

    public Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        // Serialized here, on the caller's thread, so the writer only appends.
        // With "" is kept as "" (mod_offline stores exactly that; a nil peer has no "with" field).
        var byUser = items
            .GroupBy(i => i.User)
            .Select(g => (User: g.Key, Items: g.Select(i => (i.Key, i.When, (string?)i.With,
                LuaDataWriter.Item(ArchiveItemCodec.ToItem(i.Value, i.Key, i.When, i.With)))).ToList()))
            .ToList();
        return db.Writer.WriteAsync(() =>
        {
            foreach (var (user, userItems) in byUser)
            {
                var list = db.List(host, store, user.Length == 0 ? null : user);
                lock (list.Gate) Append(list, userItems, durable);
            }
            return true;
        });
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) => db.Writer.ReadAsync(() =>
    {
        var list = db.List(host, store, user);
        lock (list.Gate)
        {
            var entries = list.Entries();
            var matching = Matching(entries, query);
            long? total = query.WantTotal ? query.Bounded(matching.Count) : null;
            if (!InIdRange(entries, query, matching, out var range)) return new ArchiveResult([], total) { UnknownId = true };
            var page = Page(range, query).Select(i => entries[i]).ToList();
            var tables = list.Read(page);
            var items = new List<ArchiveItem>(page.Count);
            for (int i = 0; i < page.Count; i++)
            {
                if (ArchiveItemCodec.ToStanza(tables[i]) is { } stanza) items.Add(new ArchiveItem(page[i].Key, page[i].When, page[i].With, stanza));
                else Log.Warn($"Skipping archive item {page[i].Key} in {list.Path}: not a stanza");
            }
            return new ArchiveResult(items, total);
        }
    });

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => db.Writer.WriteAsync(() =>
    {
        var list = db.List(host, store, user);
        lock (list.Gate)
        {
            var entries = list.Entries();
            var matching = Matching(entries, query);
            if (!InIdRange(entries, query, matching, out var range)) return 0L;
            var doomed = (query.Limit is null ? range : Page(range, query)).ToHashSet();
            if (doomed.Count == 0) return 0L;
            int position = 0;
            return Rewrite(list, _ => doomed.Contains(position++));
        }
    });

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => db.Writer.WriteAsync(() =>
    {
        long deleted = 0;
        foreach (var user in db.Layout.Users(host, store, DataPathLayout.ListExtension))
        {
            if (deleted >= batch) break;
            var list = db.List(host, store, user);
            lock (list.Gate)
            {
                long room = batch - deleted;
                long taken = 0;
                deleted += Rewrite(list, e => e.When < cutoff && taken++ < room);
            }
        }
        return deleted;
    });

    /// <summary>Positions (in file order) of the items that pass the filters.</summary>
    private static List<int> Matching(List<ListEntry> entries, ArchiveQuery q)
    {
        var ids = q.Ids is null ? null : new HashSet<string>(q.Ids, StringComparer.Ordinal);
        var result = new List<int>();
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if ((q.Start is null || e.When >= q.Start) && (q.End is null || e.When <= q.End)
                && (q.With is null || e.With == q.With) && (ids is null || ids.Contains(e.Key)))
            {
                result.Add(i);
            }
        }
        return result;
    }

    /// <summary>The exclusive Before/After bounds, by the named items' positions in the whole archive (as SQL's sort_id).</summary>
    private static bool InIdRange(List<ListEntry> entries, ArchiveQuery q, List<int> matching, out IEnumerable<int> range)
    {
        range = matching;
        if (q.After is { } after)
        {
            int a = entries.FindIndex(e => e.Key == after);
            if (a < 0) return false;
            range = range.Where(i => i > a);
        }
        if (q.Before is { } before)
        {
            int b = entries.FindIndex(e => e.Key == before);
            if (b < 0) return false;
            range = range.Where(i => i < b);
        }
        return true;
    }

    private static IEnumerable<int> Page(IEnumerable<int> range, ArchiveQuery q)
    {
        var ordered = q.Reverse ? range.Reverse() : range;
        return q.Limit is { } limit ? ordered.Take(Math.Max(limit, 0)) : ordered;
    }

    /// <summary>Appends items (id, when, with, text) at the end of the list's whole items. Caller holds the list's gate.</summary>
    private static void Append(ArchiveList list, IReadOnlyList<(string Key, long When, string? With, string Text)> items, bool durable)
    {
        long offset = list.AppendOffset();
        var text = new StringBuilder();
        var entries = new List<ListEntry>(items.Count);
        long position = offset;
        foreach (var (key, when, with, itemText) in items)
        {
            // Item text is ASCII (LuaDataWriter escapes every other byte), so characters are bytes.
            entries.Add(new ListEntry(key, when, with, position, itemText.Length));
            position += itemText.Length;
            text.Append(itemText);
        }
        long length = DataFiles.Append(list.Path, offset, text.ToString(), durable);
        list.Appended(entries, length);
    }

    /// <summary>
    /// Rewrites the file without the items <paramref name="drop"/> selects (their text copied byte for
    /// byte otherwise), atomically; an archive left empty is removed, as Prosody does. Returns how many went.
    /// </summary>
    private static long Rewrite(ArchiveList list, Func<ListEntry, bool> drop)
    {
        var entries = list.Entries();
        var kept = entries.Where(e => !drop(e)).ToList();
        long removed = entries.Count - kept.Count;
        if (removed == 0) return 0;
        if (kept.Count == 0)
        {
            DataFiles.Delete(list.Path);
            list.Replaced([], 0);
            return removed;
        }
        var bytes = DataFiles.ReadAll(list.Path, DataFiles.MaxListBytes) ?? [];
        var text = new MemoryStream();
        var moved = new List<ListEntry>(kept.Count);
        foreach (var e in kept)
        {
            moved.Add(e with { Offset = text.Length });
            text.Write(bytes, (int)e.Offset, e.Length);
        }
        DataFiles.WriteAtomically(list.Path, text.ToArray());
        list.Replaced(moved, text.Length);
        return removed;
    }
}
