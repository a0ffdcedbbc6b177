using System.Text;
using Dapper;
using LuaXmpp.Logging;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// An archive store in the "prosodyarchive" table, with mod_storage_sql's query semantics.
/// Paging is keyset paging on sort_id: the sort_id of the Before/After item is looked up first.
/// Every value reaches SQLite as a parameter; only fixed SQL fragments are concatenated. Every
/// write keeps the full-text index (<see cref="SqliteFullText"/>) in step in the same transaction.
/// </summary>
internal sealed class SqliteArchiveStore(SqliteDatabase db, string host, string store) : IArchiveStore, IArchiveBatchStore
{
    private readonly StoreScope _rows = StoreScope.Archive(host, store);

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        var stored = StoredValue.From(value);
        var id = key ?? Guid.NewGuid().ToString();
        var owner = SqliteFullText.Owner(host, user ?? "", store);
        var body = MessageBody.Indexed(value, store);
        return db.WriteAsync(_rows, (c, tx) =>
        {
            var p = new { host, user = user ?? "", store, key = id, when, with = with ?? "", type = stored.Type, value = stored.Text };
            // An existing key is replaced and moves to the end, as in Prosody (its index row goes with it).
            SqliteFullText.DeleteRows(c, tx,
                """SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user AND "store"=@store AND "key"=@key""", p);
            c.Execute(ProsodySql.InsertArchive, p, tx);
            long sortId = SQLitePCL.raw.sqlite3_last_insert_rowid(c.Handle);
            using (var index = SqliteFullText.PrepareInsert(c, tx)) SqliteFullText.Index(index, sortId, owner, body);
            db.FullText.Written(c, tx, sortId);
            return id;
        });
    }

    public Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        // Serialised here, on the caller's (writer's) thread, so the transaction only inserts.
        var rows = items.Select(i => new BatchRow(i, StoredValue.From(i.Value), SqliteFullText.Owner(host, i.User, store), MessageBody.Indexed(i.Value, store))).ToList();
        return db.WriteAsync(_rows, (c, tx) =>
        {
            // Keys are fresh, so no replace step: one prepared insert per row, and its index row.
            using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = ProsodySql.InsertArchive;
            foreach (var name in (string[])["@host", "@user", "@store", "@when", "@with", "@key", "@type", "@value"]) insert.Parameters.Add(new SqliteParameter { ParameterName = name });
            insert.Parameters[0].Value = host;
            insert.Parameters[2].Value = store;
            using var index = SqliteFullText.PrepareInsert(c, tx);
            long sortId = 0;
            foreach (var row in rows)
            {
                insert.Parameters[1].Value = row.Item.User;
                insert.Parameters[3].Value = row.Item.When;
                insert.Parameters[4].Value = row.Item.With;
                insert.Parameters[5].Value = row.Item.Key;
                insert.Parameters[6].Value = row.Stored.Type;
                insert.Parameters[7].Value = row.Stored.Text;
                insert.ExecuteNonQuery();
                sortId = SQLitePCL.raw.sqlite3_last_insert_rowid(c.Handle);
                SqliteFullText.Index(index, sortId, row.Owner, row.Body);
            }
            if (rows.Count > 0) db.FullText.Written(c, tx, sortId);
            return true;
        }, durable);
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) => db.ReadAsync(_rows, c =>
    {
        using var tx = c.BeginTransaction(deferred: true); // one snapshot for the count and the page
        var filter = BuildFilter(user, query);
        long? total = query.WantTotal ? Count(c, tx, filter, query) : null;
        if (!AddIdRange(c, tx, filter, query)) return new ArchiveResult([], total) { UnknownId = true };

        var sql = new StringBuilder(query.FullText is null ? ProsodySql.SelectArchiveColumns : SqliteFullText.SelectColumns)
            .Append(filter.Where)
            .Append(query.FullText is null ? ArchiveFilter.OrderBy(query.Reverse) : SqliteFullText.OrderBy(query.Reverse))
            .Append(" LIMIT @limit");
        filter.Parameters.Add("limit", Math.Max(query.Limit ?? -1, -1));
        var rows = c.Query<(string Key, string Type, string Value, long When, string With)>(sql.ToString(), filter.Parameters, tx);
        var items = ProsodySql.ToItems(rows, host, store);
        tx.Commit();
        return new ArchiveResult(items, total);
    });

    private static long? Count(SqliteConnection c, SqliteTransaction tx, ArchiveFilter filter, ArchiveQuery query)
    {
        if (query.FullText is null) return c.ExecuteScalar<long>(ProsodySql.CountArchive + filter.Where, filter.Parameters, tx);
        return query.Bounded(c.ExecuteScalar<long>(query.BoundedCount(SqliteFullText.SelectMatch + filter.Where), filter.Parameters, tx));
    }

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => db.WriteAsync(_rows, (c, tx) =>
    {
        var filter = BuildFilter(user, query);
        if (!AddIdRange(c, tx, filter, query)) return 0L;
        var select = (query.FullText is null ? """SELECT "sort_id" FROM "prosodyarchive" WHERE """ : SqliteFullText.SelectSortIds) + filter.Where;
        if (query.Limit is { } limit)
        {
            // Limit counts from the oldest end (the newest with Reverse), like a find with the same query.
            filter.Parameters.Add("limit", Math.Max(limit, 0));
            select += ArchiveFilter.OrderBy(query.Reverse) + " LIMIT @limit";
        }
        return SqliteFullText.DeleteRows(c, tx, select, filter.Parameters);
    });

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => db.WriteAsync(_rows, (c, tx) => SqliteFullText.DeleteRows(c, tx,
        """
        SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "store"=@store AND "when"<@cutoff
        ORDER BY "sort_id" LIMIT @batch
        """,
        new { host, store, cutoff, batch = Math.Max(batch, 0) }));

    private ArchiveFilter BuildFilter(string? user, ArchiveQuery query)
    {
        var filter = ArchiveFilter.Build(host, store, user, query, arrayIds: false);
        if (query.FullText is { } fullText)
            filter.Add(SqliteFullText.MatchFilter, "fulltext", SqliteFullText.Match(fullText, SqliteFullText.Owner(host, user ?? "", store)));
        return filter;
    }

    private sealed record BatchRow(ArchiveAppend Item, StoredValue Stored, string Owner, string? Body);

    /// <summary>Adds the exclusive Before/After bounds; false when either names an item that is not there.</summary>
    private static bool AddIdRange(SqliteConnection c, SqliteTransaction? tx, ArchiveFilter filter, ArchiveQuery query)
    {
        if (query.After is { } after)
        {
            if (LookUpSortId(c, tx, filter, after) is not { } afterId) return false;
            filter.After(afterId);
            if (query.FullText is not null) filter.Add(SqliteFullText.After, "ftAfter", afterId);
        }
        if (query.Before is { } before)
        {
            if (LookUpSortId(c, tx, filter, before) is not { } beforeId) return false;
            filter.Before(beforeId);
            if (query.FullText is not null) filter.Add(SqliteFullText.Before, "ftBefore", beforeId);
        }
        return true;
    }

    private static long? LookUpSortId(SqliteConnection c, SqliteTransaction? tx, ArchiveFilter filter, string key) =>
        c.QueryFirstOrDefault<long?>(ProsodySql.LookUpSortId, filter.KeyLookup(key), tx);
}
