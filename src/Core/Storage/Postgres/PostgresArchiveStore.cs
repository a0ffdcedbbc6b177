using System.Globalization;
using Dapper;
using LuaXmpp.Storage.Sql;
using LuaXmpp.Xml;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>
/// An archive store in "prosodyarchive" on PostgreSQL, with mod_storage_sql's query semantics
/// (<see cref="ArchiveFilter"/>, shared with SQLite). The writer's batches go in as one
/// multi-row INSERT over arrays (one round trip, one prepared statement, rows in order).
/// </summary>
internal sealed class PostgresArchiveStore(PostgresDatabase db, string host, string store) : IArchiveStore, IArchiveBatchStore
{
    private readonly StoreScope _rows = StoreScope.Archive(host, store);

    /// <summary>
    /// One statement for any batch size, so it stays prepared. WITH ORDINALITY ... ORDER BY keeps
    /// the batch's order in sort_id (BIGSERIAL), which paging relies on. The keys are fresh, so
    /// a conflict on Prosody's unique (host, user, store, key) index means this very batch was
    /// committed before the connection died and the writer is retrying it: skipping the rows
    /// keeps the retry from archiving anything twice.
    /// </summary>
    /// The same statement indexes the rows it inserted that have a body (PostgresFullText) and moves the
    /// index's mark when nothing older waits to be indexed.
    private static readonly string InsertBatch = $"""
        WITH "added" AS (
            INSERT INTO "prosodyarchive" ("host","user","store","when","with","key","type","value")
            SELECT @host, b.u, @store, b.w, b.p, b.k, b.t, b.v
            FROM unnest(@users, @whens, @withs, @keys, @types, @values) WITH ORDINALITY AS b(u, w, p, k, t, v, n)
            ORDER BY b.n
            ON CONFLICT ("host", "user", "store", "key") DO NOTHING
            RETURNING "sort_id", "key"),
        "indexed" AS (
            INSERT INTO "luaxmpp_archive_fts" ("sort_id", "vector")
            SELECT a."sort_id", {PostgresFullText.Vector("f.o", "f.w")}
            FROM "added" a JOIN unnest(@keys, @owners, @words) AS f(k, o, w) ON f.k = a."key"
            WHERE f.w IS NOT NULL)
        UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = (SELECT MAX("sort_id") FROM "added")
        WHERE "id" = 1 AND @caughtUp AND "indexed_upto" < (SELECT MAX("sort_id") FROM "added")
        """;

    private static readonly string InsertOne = $"""
        WITH "added" AS (
            INSERT INTO "prosodyarchive" ("host","user","store","when","with","key","type","value")
            VALUES (@host,@user,@store,@when,@with,@key,@type,@value) RETURNING "sort_id"),
        "indexed" AS (
            INSERT INTO "luaxmpp_archive_fts" ("sort_id", "vector")
            SELECT "sort_id", {PostgresFullText.Vector("@owner", "@words")} FROM "added" WHERE CAST(@words AS text) IS NOT NULL)
        UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = (SELECT "sort_id" FROM "added")
        WHERE "id" = 1 AND @caughtUp AND "indexed_upto" < (SELECT "sort_id" FROM "added")
        """;

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
    {
        var stored = StoredValue.From(value);
        var id = key ?? Guid.NewGuid().ToString();
        var owner = PostgresFullText.Owner(host, user ?? "", store);
        var words = PostgresFullText.Words(MessageBody.Indexed(value, store));
        return db.WriteAsync(_rows, async (c, tx) =>
        {
            var p = new { host, user = user ?? "", store, key = id, when = checked((int)when), with = with ?? "", type = stored.Type, value = stored.Text };
            // An existing key is replaced and moves to the end, as in Prosody (its index row goes with it).
            await c.ExecuteAsync(PostgresFullText.DeleteRows(
                """SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user AND "store"=@store AND "key"=@key"""), p, tx).ConfigureAwait(false);
            await c.ExecuteAsync(InsertOne, new { p.host, p.user, p.store, p.key, p.when, p.with, p.type, p.value, owner, words, caughtUp = db.FullText.CaughtUp }, tx).ConfigureAwait(false);
            return id;
        });
    }

    public Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        // Serialised here, on the writer's thread, so the transaction only inserts.
        int n = items.Count;
        var users = new string[n];
        var whens = new int[n];
        var withs = new string[n];
        var keys = new string[n];
        var types = new string[n];
        var values = new string[n];
        var owners = new string[n];
        var words = new string?[n];
        for (int i = 0; i < n; i++)
        {
            var item = items[i];
            var stored = StoredValue.From(item.Value);
            (users[i], whens[i], withs[i], keys[i], types[i], values[i]) = (item.User, checked((int)item.When), item.With, item.Key, stored.Type, stored.Text);
            (owners[i], words[i]) = (PostgresFullText.Owner(host, item.User, store), PostgresFullText.Words(MessageBody.Indexed(item.Value, store)));
        }
        return db.WriteAsync(_rows, async (c, tx) =>
        {
            var p = new { host, store, users, whens, withs, keys, types, values, owners, words, caughtUp = db.FullText.CaughtUp };
            return await c.ExecuteAsync(InsertBatch, p, tx).ConfigureAwait(false);
        }, durable);
    }

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) => db.ReadAsync(_rows, async c =>
    {
        // One snapshot for the count and the page. Without a count (the archive service usually
        // has it cached) no transaction is needed: two round trips instead of four.
        await using var tx = query.WantTotal ? await c.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead).ConfigureAwait(false) : null;
        var filter = Filter(user, query);
        long? total = !query.WantTotal ? null
            : query.FullText is null ? await c.ExecuteScalarAsync<long>(ProsodySql.CountArchive + filter.Where, filter.Parameters, tx).ConfigureAwait(false)
            : query.Bounded(await c.ExecuteScalarAsync<long>(query.BoundedCount(ProsodySql.SelectArchiveMatch + filter.Where), filter.Parameters, tx).ConfigureAwait(false));
        var (found, afterId, beforeId) = await AddIdRangeAsync(c, tx, filter, query).ConfigureAwait(false);
        if (!found) return new ArchiveResult([], total) { UnknownId = true };

        // The limit is written into the statement (an integer we format, never client text): a
        // prepared statement with LIMIT $n gets a generic plan after five runs that cannot
        // assume a small page, and may sort the user's whole archive instead of walking the
        // sort index. The few page sizes clients ask for each stay prepared.
        string limit = query.Limit is { } n ? Math.Max(n, 0).ToString(CultureInfo.InvariantCulture) : "ALL";
        string sql;
        if (query is { FullText: { } fullText, With: null, Start: null, End: null, Ids: null })
        {
            filter = ArchiveFilter.Build(host, store, user, query, arrayIds: true);
            sql = PostgresFullText.PageSql(filter, fullText, PostgresFullText.Owner(host, user ?? "", store), afterId, beforeId, query.Reverse, limit);
        }
        else sql = ProsodySql.SelectArchiveColumns + filter.Where + ArchiveFilter.OrderBy(query.Reverse) + " LIMIT " + limit;
        var rows = await c.QueryAsync<(string Key, string Type, string Value, long When, string With)>(sql, filter.Parameters, tx).ConfigureAwait(false);
        var items = ProsodySql.ToItems(rows, host, store);
        if (tx is not null) await tx.CommitAsync().ConfigureAwait(false);
        return new ArchiveResult(items, total);
    });

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => db.WriteAsync(_rows, async (c, tx) =>
    {
        var filter = Filter(user, query);
        if (!(await AddIdRangeAsync(c, tx, filter, query).ConfigureAwait(false)).Found) return 0L;
        string select = """SELECT "sort_id" FROM "prosodyarchive" WHERE """ + filter.Where;
        if (query.Limit is { } limit)
        {
            filter.Parameters.Add("limit", Math.Max(limit, 0));
            select += ArchiveFilter.OrderBy(query.Reverse) + " LIMIT @limit";
        }
        return (long)await c.ExecuteAsync(PostgresFullText.DeleteRows(select), filter.Parameters, tx).ConfigureAwait(false);
    });

    private static readonly string DeleteOlderThan = PostgresFullText.DeleteRows("""
        SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "store"=@store AND "when"<@cutoff
        ORDER BY "sort_id" LIMIT @batch
        """);

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => db.WriteAsync(_rows, async (c, tx) =>
        (long)await c.ExecuteAsync(DeleteOlderThan, new { host, store, cutoff, batch = Math.Max(batch, 0) }, tx).ConfigureAwait(false));

    /// <summary>The query's WHERE clause; the place to add PostgreSQL-only filters.</summary>
    private ArchiveFilter Filter(string? user, ArchiveQuery query)
    {
        var filter = ArchiveFilter.Build(host, store, user, query, arrayIds: true);
        if (query.FullText is { } fullText) PostgresFullText.AddTo(filter, fullText, PostgresFullText.Owner(host, user ?? "", store));
        return filter;
    }

    /// <summary>Adds the exclusive Before/After bounds; false when either names an item that is not there.</summary>
    private static async Task<(bool Found, long? AfterId, long? BeforeId)> AddIdRangeAsync(NpgsqlConnection c, NpgsqlTransaction? tx, ArchiveFilter filter, ArchiveQuery query)
    {
        long? afterId = null, beforeId = null;
        if (query.After is { } after)
        {
            afterId = await LookUpSortIdAsync(c, tx, filter, after).ConfigureAwait(false);
            if (afterId is null) return (false, null, null);
            filter.After(afterId.Value);
        }
        if (query.Before is { } before)
        {
            beforeId = await LookUpSortIdAsync(c, tx, filter, before).ConfigureAwait(false);
            if (beforeId is null) return (false, null, null);
            filter.Before(beforeId.Value);
        }
        return (true, afterId, beforeId);
    }

    private static Task<long?> LookUpSortIdAsync(NpgsqlConnection c, NpgsqlTransaction? tx, ArchiveFilter filter, string key) =>
        c.QueryFirstOrDefaultAsync<long?>(ProsodySql.LookUpSortId, filter.KeyLookup(key), tx);
}
