using System.Text;
using Dapper;
using LuaXmpp.Logging;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// An archive store in the "prosodyarchive" table, with mod_storage_sql's query semantics.
/// Paging is keyset paging on sort_id: the sort_id of the Before/After item is looked up first.
/// Every value reaches SQLite as a parameter; only fixed SQL fragments are concatenated.
/// </summary>
internal sealed class SqliteArchiveStore(SqliteDatabase db, string host, string store) : IArchiveStore, IArchiveBatchStore
{
    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        var stored = StoredValue.From(value);
        var id = key ?? Guid.NewGuid().ToString();
        return db.WriteAsync((c, tx) =>
        {
            var p = new { host, user = user ?? "", store, key = id, when, with = with ?? "", type = stored.Type, value = stored.Text };
            // An existing key is replaced and moves to the end, as in Prosody.
            c.Execute(ProsodySql.DeleteArchiveKey, p, tx);
            c.Execute(ProsodySql.InsertArchive, p, tx);
            return id;
        });
    }

    public Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        // Serialised here, on the caller's (writer's) thread, so the transaction only inserts.
        var rows = items.Select(i =>
        {
            var stored = StoredValue.From(i.Value);
            return new { host, user = i.User, store, key = i.Key, when = i.When, with = i.With, type = stored.Type, value = stored.Text };
        }).ToList();
        return db.WriteAsync((c, tx) =>
        {
            // Keys are fresh, so no replace step; Dapper runs the one prepared insert per row.
            c.Execute(ProsodySql.InsertArchive, rows, tx);
            return true;
        }, durable);
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) => db.ReadAsync(c =>
    {
        using var tx = c.BeginTransaction(deferred: true); // one snapshot for the count and the page
        var filter = BuildFilter(user, query);
        long? total = query.WantTotal
            ? c.ExecuteScalar<long>(ProsodySql.CountArchive + filter.Where, filter.Parameters, tx)
            : null;
        if (!AddIdRange(c, tx, filter, query)) return new ArchiveResult([], total) { UnknownId = true };

        var sql = new StringBuilder(ProsodySql.SelectArchiveColumns)
            .Append(filter.Where)
            .Append(ArchiveFilter.OrderBy(query.Reverse))
            .Append(" LIMIT @limit");
        filter.Parameters.Add("limit", Math.Max(query.Limit ?? -1, -1));
        var rows = c.Query<(string Key, string Type, string Value, long When, string With)>(sql.ToString(), filter.Parameters, tx);
        var items = ProsodySql.ToItems(rows, host, store);
        tx.Commit();
        return new ArchiveResult(items, total);
    });

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => db.WriteAsync((c, tx) =>
    {
        var filter = BuildFilter(user, query);
        if (!AddIdRange(c, tx, filter, query)) return 0L;
        string sql;
        if (query.Limit is { } limit)
        {
            // Limit counts from the oldest end (the newest with Reverse), like a find with the same query.
            filter.Parameters.Add("limit", Math.Max(limit, 0));
            sql = ProsodySql.DeleteArchiveLimited(filter.Where, query.Reverse);
        }
        else sql = ProsodySql.DeleteArchiveWhere + filter.Where;
        return (long)c.Execute(sql, filter.Parameters, tx);
    });

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => db.WriteAsync((c, tx) =>
        (long)c.Execute(ProsodySql.DeleteOlderThan, new { host, store, cutoff, batch = Math.Max(batch, 0) }, tx));

    private ArchiveFilter BuildFilter(string? user, ArchiveQuery query) => ArchiveFilter.Build(host, store, user, query, arrayIds: false);

    /// <summary>Adds the exclusive Before/After bounds; false when either names an item that is not there.</summary>
    private static bool AddIdRange(SqliteConnection c, SqliteTransaction? tx, ArchiveFilter filter, ArchiveQuery query)
    {
        if (query.After is { } after)
        {
            if (LookUpSortId(c, tx, filter, after) is not { } afterId) return false;
            filter.After(afterId);
        }
        if (query.Before is { } before)
        {
            if (LookUpSortId(c, tx, filter, before) is not { } beforeId) return false;
            filter.Before(beforeId);
        }
        return true;
    }

    private static long? LookUpSortId(SqliteConnection c, SqliteTransaction? tx, ArchiveFilter filter, string key) =>
        c.QueryFirstOrDefault<long?>(ProsodySql.LookUpSortId, filter.KeyLookup(key), tx);
}
