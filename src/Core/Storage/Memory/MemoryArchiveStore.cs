using LuaXmpp.Xml;

namespace LuaXmpp.Storage.Memory;

/// <summary>An archive with the SQL driver's semantics: sort order of insertion, keys unique per user.</summary>
internal sealed class MemoryArchiveStore(MemoryDatabase db, string host, string store) : IArchiveStore, IArchiveBatchStore
{
    public Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        var copies = items.Select(i => (Item: i, Value: i.Value.Clone())).ToList();
        lock (db.Gate)
        {
            var archive = db.Archive(host, store);
            foreach (var (i, value) in copies) archive.Add(new MemoryArchiveEntry(db.NextSortId(), i.User, i.Key, i.When, i.With, value));
        }
        return Task.CompletedTask;
    }

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        var id = key ?? Guid.NewGuid().ToString();
        var copy = value.Clone();
        lock (db.Gate)
        {
            var archive = db.Archive(host, store);
            archive.RemoveAll(e => e.User == (user ?? "") && e.Key == id);
            archive.Add(new MemoryArchiveEntry(db.NextSortId(), user ?? "", id, when, with ?? "", copy));
        }
        return Task.FromResult(id);
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query)
    {
        lock (db.Gate)
        {
            var matching = Matching(user ?? "", query).ToList();
            long? total = query.WantTotal ? query.Bounded(matching.Count) : null;
            if (!InIdRange(user ?? "", query, matching, out var page)) return Task.FromResult(new ArchiveResult([], total) { UnknownId = true });
            var items = Page(page, query)
                .Select(e => new ArchiveItem(e.Key, e.When, e.With.Length == 0 ? null : e.With, e.Value.Clone()))
                .ToList();
            return Task.FromResult(new ArchiveResult(items, total));
        }
    }

    public Task<long> DeleteAsync(string? user, ArchiveQuery query)
    {
        lock (db.Gate)
        {
            var matching = Matching(user ?? "", query).ToList();
            if (!InIdRange(user ?? "", query, matching, out var range)) return Task.FromResult(0L);
            var doomed = (query.Limit is null ? range : Page(range, query)).Select(e => e.SortId).ToHashSet();
            long n = db.Archive(host, store).RemoveAll(e => doomed.Contains(e.SortId));
            return Task.FromResult(n);
        }
    }

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch)
    {
        lock (db.Gate)
        {
            var archive = db.Archive(host, store);
            var doomed = archive.Where(e => e.When < cutoff).Take(Math.Max(batch, 0)).Select(e => e.SortId).ToHashSet();
            long n = archive.RemoveAll(e => doomed.Contains(e.SortId));
            return Task.FromResult(n);
        }
    }

    private IEnumerable<MemoryArchiveEntry> Matching(string user, ArchiveQuery q) =>
        db.Archive(host, store).Where(e => e.User == user
            && (q.Start is null || e.When >= q.Start)
            && (q.End is null || e.When <= q.End)
            && (q.With is null || e.With == q.With)
            && (q.Ids is null || q.Ids.Contains(e.Key))
            && (q.FullText is null || (MessageBody.Of(e.Value) is { } body && q.FullText.Matches(body))));

    /// <summary>Applies the exclusive Before/After bounds by the named items' positions (looked up in the whole archive, as SQL does).</summary>
    private bool InIdRange(string user, ArchiveQuery q, List<MemoryArchiveEntry> matching, out IEnumerable<MemoryArchiveEntry> range)
    {
        range = matching;
        var archive = db.Archive(host, store);
        if (q.After is { } after)
        {
            var a = archive.Find(e => e.User == user && e.Key == after);
            if (a is null) return false;
            range = range.Where(e => e.SortId > a.SortId);
        }
        if (q.Before is { } before)
        {
            var b = archive.Find(e => e.User == user && e.Key == before);
            if (b is null) return false;
            range = range.Where(e => e.SortId < b.SortId);
        }
        return true;
    }

    private static IEnumerable<MemoryArchiveEntry> Page(IEnumerable<MemoryArchiveEntry> range, ArchiveQuery q)
    {
        var ordered = q.Reverse ? range.Reverse() : range;
        return q.Limit is { } limit ? ordered.Take(Math.Max(limit, 0)) : ordered;
    }
}
