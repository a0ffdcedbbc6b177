using Dapper;
using LuaXmpp.Logging;
using LuaXmpp.Xml;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>
/// Keeps the PostgreSQL full-text index in step with "prosodyarchive", as SqliteFullTextIndex does
/// for SQLite: "luaxmpp_archive_fts_state" holds the sort_id up to which every item is indexed;
/// our writes index their rows in the same statement; rows above the mark when the database is
/// opened (written by Prosody) are indexed afterwards in short write transactions.
/// </summary>
internal sealed class PostgresFullTextIndex
{
    public const int BatchSize = 1000;

    private static readonly Logger Log = Logger.For("storage_sql");

    private long _catchUpTo; // > 0 while rows up to it wait to be indexed (Interlocked: set when the schema is created)

    /// <summary>Whether our writes move the mark (false while older rows wait to be indexed).</summary>
    public bool CaughtUp => Interlocked.Read(ref _catchUpTo) == 0;

    /// <summary>Creates the index tables if missing; true when rows written without them wait to be indexed.</summary>
    public async Task<bool> OpenedAsync(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        await c.ExecuteAsync(PostgresFullText.Schema, null, tx).ConfigureAwait(false);
        long mark = await c.ExecuteScalarAsync<long>("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" WHERE "id" = 1""", null, tx).ConfigureAwait(false);
        long max = await c.ExecuteScalarAsync<long?>("""SELECT MAX("sort_id") FROM "prosodyarchive" """, null, tx).ConfigureAwait(false) ?? 0;
        if (mark >= max) return false;
        Interlocked.Exchange(ref _catchUpTo, max);
        Log.Info($"Indexing archived messages {mark + 1}..{max} for full-text search, {BatchSize} per transaction");
        return true;
    }

    /// <summary>Indexes the next batch of unindexed rows; false when the index has caught up.</summary>
    public async Task<bool> CatchUpAsync(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        long upTo = Interlocked.Read(ref _catchUpTo);
        if (upTo == 0) return false;
        long mark = await c.ExecuteScalarAsync<long>("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" WHERE "id" = 1""", null, tx).ConfigureAwait(false);
        var rows = (await c.QueryAsync<(long SortId, string Host, string User, string Store, string Type, string Value)>(
            """
            SELECT "sort_id","host","user","store","type","value" FROM "prosodyarchive"
            WHERE "sort_id" > @mark AND "sort_id" <= @upTo ORDER BY "sort_id" LIMIT @batch
            """,
            new { mark, upTo, batch = BatchSize }, tx).ConfigureAwait(false)).AsList();
        var ids = new List<long>();
        var owners = new List<string>();
        var words = new List<string>();
        foreach (var row in rows)
        {
            if (new StoredValue(row.Type, row.Value).ToValue() is not XmlElement stanza || PostgresFullText.Words(MessageBody.Indexed(stanza, row.Store)) is not { } w) continue;
            ids.Add(row.SortId);
            owners.Add(PostgresFullText.Owner(row.Host, row.User, row.Store));
            words.Add(w);
        }
        // ON CONFLICT: a crash between a batch and its mark may leave rows indexed already.
        await c.ExecuteAsync(
            $"""
            INSERT INTO "luaxmpp_archive_fts" ("sort_id", "vector")
            SELECT r.i, {PostgresFullText.Vector("r.o", "r.w")} FROM unnest(@ids, @owners, @words) AS r(i, o, w)
            ON CONFLICT ("sort_id") DO NOTHING
            """,
            new { ids = ids.ToArray(), owners = owners.ToArray(), words = words.ToArray() }, tx).ConfigureAwait(false);
        if (rows.Count == BatchSize && rows[^1].SortId < upTo)
        {
            await c.ExecuteAsync("""UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = @last WHERE "id" = 1""", new { last = rows[^1].SortId }, tx).ConfigureAwait(false);
            return true;
        }
        // Every row above upTo was written by us since opening, and indexed then.
        await c.ExecuteAsync("""UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = (SELECT COALESCE(MAX("sort_id"), 0) FROM "prosodyarchive") WHERE "id" = 1""", null, tx).ConfigureAwait(false);
        Interlocked.Exchange(ref _catchUpTo, 0);
        Log.Info($"Full-text index caught up (archived messages up to {upTo})");
        return false;
    }
}
