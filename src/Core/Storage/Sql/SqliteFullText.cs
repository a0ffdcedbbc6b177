using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Full-text search over archived message bodies (XEP-0431) in an FTS5 table beside Prosody's
/// tables: one row per archived item that has a body, its rowid the item's sort_id. Prosody's
/// tables are untouched (no triggers, no extra columns), so Prosody still reads and writes the
/// file; its writes are indexed when we next open it.
/// </summary>
/// <remarks>
/// Each row also holds an "owner" token derived from (host, user, store), and every search asks
/// for it: the index then returns only the user's own items instead of every user's matches.
/// The body is stored a second time inside FTS5 (deletes need it); the archive keeps the stanza.
/// "luaxmpp_archive_fts_state" keeps the sort_id up to which every item is indexed: all our
/// writes index their items in the same transaction, and rows above that mark (written by
/// Prosody, or every row of a database Prosody created) are indexed in batches after opening.
/// </remarks>
internal static class SqliteFullText
{
    public const string Schema = """
        CREATE VIRTUAL TABLE IF NOT EXISTS "luaxmpp_archive_fts" USING fts5("owner", "body", tokenize = 'unicode61 remove_diacritics 2');
        CREATE TABLE IF NOT EXISTS "luaxmpp_archive_fts_state" ("id" INTEGER PRIMARY KEY CHECK ("id" = 1), "indexed_upto" INTEGER NOT NULL);
        INSERT OR IGNORE INTO "luaxmpp_archive_fts_state" ("id", "indexed_upto") VALUES (1, 0);
        CREATE TEMP TABLE IF NOT EXISTS "luaxmpp_doomed" ("id" INTEGER PRIMARY KEY);
        """;

    // A search reads the index first, newest (or oldest) match first, and looks each match up in
    // "prosodyarchive" by its primary key for the other filters: a page stops after its items,
    // where "sort_id IN (matches)" made SQLite collect and sort every match of the user first
    // (370 ms instead of under 10 for a word in 18 000 of 50 000 messages). Paging bounds are
    // given to FTS5 on its rowid too, so a page deep in the archive starts where it should.
    // CROSS JOIN keeps that order in SQLite's planner: left to itself it counted by looking up
    // every one of the user's items in the index (seconds instead of 0.1 s).
    private const string Join = """ FROM "luaxmpp_archive_fts" CROSS JOIN "prosodyarchive" ON "prosodyarchive"."sort_id" = "luaxmpp_archive_fts"."rowid" WHERE """;

    public const string SelectColumns = """SELECT "key","type","value","when","with" """ + Join;

    /// <summary>One row per match, for a (bounded) count: <see cref="ArchiveQuery.BoundedCount"/>.</summary>
    public const string SelectMatch = "SELECT 1" + Join;

    public const string SelectSortIds = """SELECT "sort_id" """ + Join;

    /// <summary>The filter a query adds (after the FROM of <see cref="SelectColumns"/>, <see cref="Count"/> or <see cref="SelectSortIds"/>).</summary>
    public const string MatchFilter = """ AND "luaxmpp_archive_fts" MATCH @fulltext""";

    public const string After = """ AND "luaxmpp_archive_fts"."rowid">@ftAfter""";

    public const string Before = """ AND "luaxmpp_archive_fts"."rowid"<@ftBefore""";

    public static string OrderBy(bool reverse) => reverse ? """ ORDER BY "luaxmpp_archive_fts"."rowid" DESC""" : """ ORDER BY "luaxmpp_archive_fts"."rowid" ASC""";

    private const string InsertSql = """INSERT INTO "luaxmpp_archive_fts" ("rowid", "owner", "body") VALUES (@id, @owner, @body)""";

    /// <summary>The token every row of one (host, user, store) carries: "o" and 16 hex digits of a SHA-256, one unicode61 token.</summary>
    public static string Owner(string host, string user, string store)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(host + "\0" + user + "\0" + store), hash);
        return "o" + Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>
    /// The FTS5 expression: the owner token, and every term in the body column. Words hold only
    /// letters, digits and marks (FullTextQuery keeps nothing else), so inside double quotes they
    /// are plain strings to FTS5, tokenized as bodies are; a phrase is its words in one string.
    /// </summary>
    public static string Match(FullTextQuery query, string owner)
    {
        var sb = new StringBuilder("\"owner\" : \"").Append(owner).Append('"');
        foreach (var term in query.Terms)
        {
            sb.Append(" AND \"body\" : \"").Append(string.Join(' ', term.Words)).Append('"');
            if (term.Prefix) sb.Append(" *");
        }
        return sb.ToString();
    }

    /// <summary>A prepared insert for many rows in one transaction.</summary>
    public static SqliteCommand PrepareInsert(SqliteConnection c, SqliteTransaction tx)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = InsertSql;
        cmd.Parameters.Add("@id", SqliteType.Integer);
        cmd.Parameters.Add("@owner", SqliteType.Text);
        cmd.Parameters.Add("@body", SqliteType.Text);
        return cmd;
    }

    /// <summary>Indexes one item if it has a body (<see cref="MessageBody.Of"/>).</summary>
    public static void Index(SqliteCommand insert, long sortId, string owner, string? body)
    {
        if (body is null) return;
        insert.Parameters[0].Value = sortId;
        insert.Parameters[1].Value = owner;
        insert.Parameters[2].Value = body;
        insert.ExecuteNonQuery();
    }

    /// <summary>
    /// Deletes the archive rows <paramref name="selectSortIds"/> selects, and their index rows, in
    /// the caller's transaction; returns how many archive rows went. The ids are selected once,
    /// into a temporary table, since a full-text filter in the selection reads the index itself.
    /// </summary>
    public static long DeleteRows(SqliteConnection c, SqliteTransaction tx, string selectSortIds, object parameters)
    {
        c.Execute("""DELETE FROM temp."luaxmpp_doomed"; INSERT INTO temp."luaxmpp_doomed" ("id") """ + selectSortIds, parameters, tx);
        c.Execute("""DELETE FROM "luaxmpp_archive_fts" WHERE "rowid" IN (SELECT "id" FROM temp."luaxmpp_doomed")""", transaction: tx);
        long n = c.Execute("""DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "id" FROM temp."luaxmpp_doomed")""", transaction: tx);
        c.Execute("""DELETE FROM temp."luaxmpp_doomed" """, transaction: tx);
        return n;
    }
}
