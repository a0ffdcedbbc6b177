using Dapper;
using LuaXmpp.Logging;
using LuaXmpp.Xml;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Keeps the full-text index of one database in step with "prosodyarchive": the mark of what is
/// indexed, and the catch-up after opening a file with archive rows nobody indexed (created or
/// last written by Prosody). Only the writer thread calls it.
/// </summary>
internal sealed class SqliteFullTextIndex
{
    /// <summary>Rows per catch-up transaction: small enough that queued writes and reads wait one short batch.</summary>
    public const int BatchSize = 1000;

    private static readonly Logger Log = Logger.For("storage_sql");

    private long? _catchUpTo; // the highest sort_id when the file was opened, until the rows up to it are indexed

    /// <summary>Whether a catch-up is under way (our writes index their own rows either way).</summary>
    public bool CatchingUp => _catchUpTo is not null;

    /// <summary>Creates the index if missing; true when rows written without it wait to be indexed.</summary>
    public bool Opened(SqliteConnection c)
    {
        c.Execute(SqliteFullText.Schema);
        long mark = c.ExecuteScalar<long>("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" WHERE "id" = 1""");
        long max = c.ExecuteScalar<long?>("""SELECT MAX("sort_id") FROM "prosodyarchive" """) ?? 0;
        _catchUpTo = mark < max ? max : null;
        if (_catchUpTo is not null) Log.Info($"Indexing archived messages {mark + 1}..{max} for full-text search, {BatchSize} per transaction");
        return _catchUpTo is not null;
    }

    /// <summary>After our own inserts (indexed in the same transaction): the mark follows when nothing older waits.</summary>
    public void Written(SqliteConnection c, SqliteTransaction tx, long lastSortId)
    {
        if (_catchUpTo is not null) return;
        c.Execute("""UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = @lastSortId WHERE "id" = 1 AND "indexed_upto" < @lastSortId""",
            new { lastSortId }, tx);
    }

    /// <summary>Indexes the next batch of unindexed rows; false when the index has caught up.</summary>
    public bool CatchUp(SqliteConnection c, SqliteTransaction tx)
    {
        if (_catchUpTo is not { } upTo) return false;
        long mark = c.ExecuteScalar<long>("""SELECT "indexed_upto" FROM "luaxmpp_archive_fts_state" WHERE "id" = 1""", transaction: tx);
        var rows = c.Query<(long SortId, string Host, string User, string Store, string Type, string Value)>(
            """
            SELECT "sort_id","host","user","store","type","value" FROM "prosodyarchive"
            WHERE "sort_id" > @mark AND "sort_id" <= @upTo ORDER BY "sort_id" LIMIT @batch
            """,
            new { mark, upTo, batch = BatchSize }, tx).AsList();
        using var insert = SqliteFullText.PrepareInsert(c, tx);
        foreach (var row in rows)
        {
            // A crash between a catch-up batch and its mark can leave a row indexed twice otherwise.
            if (c.ExecuteScalar<long?>("""SELECT "rowid" FROM "luaxmpp_archive_fts" WHERE "rowid" = @id""", new { id = row.SortId }, tx) is not null) continue;
            if (new StoredValue(row.Type, row.Value).ToValue() is XmlElement stanza)
                SqliteFullText.Index(insert, row.SortId, SqliteFullText.Owner(row.Host, row.User, row.Store), MessageBody.Indexed(stanza, row.Store));
        }
        if (rows.Count == BatchSize && rows[^1].SortId < upTo)
        {
            c.Execute("""UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = @last WHERE "id" = 1""", new { last = rows[^1].SortId }, tx);
            return true;
        }
        // Every row above upTo was written by us since opening, and indexed then.
        c.Execute("""UPDATE "luaxmpp_archive_fts_state" SET "indexed_upto" = (SELECT COALESCE(MAX("sort_id"), 0) FROM "prosodyarchive") WHERE "id" = 1""", transaction: tx);
        _catchUpTo = null;
        Log.Info($"Full-text index caught up (archived messages up to {upTo})");
        return false;
    }
}
