namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Statements over mod_storage_sql's tables that read the same on SQLite and PostgreSQL (quoted
/// identifiers, named parameters), shared by both drivers. Every value is a parameter.
/// </summary>
internal static class ProsodySql
{
    private static readonly Logging.Logger Log = Logging.Logger.For("storage_sql");

    /// <summary>
    /// Exactly the statements Prosody 0.12 issues (util/sql.lua turns mod_storage_sql's table
    /// definitions into them), so either server can create the tables first. Only the
    /// auto-increment key is spelled per driver: <paramref name="sortIdColumn"/> is
    /// <c>INTEGER PRIMARY KEY AUTOINCREMENT</c> on SQLite, <c>BIGSERIAL PRIMARY KEY</c> on PostgreSQL.
    /// </summary>
    public static string ProsodySchema(string sortIdColumn) => $$"""
        CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");
        CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" {{sortIdColumn}}, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id");
        """;

    /// <summary>
    /// Indexes of ours beside Prosody's (same SQL on both drivers): expiry deletes by time across
    /// all users of a store, and paging by peer, which Prosody's indexes (user first, with+when)
    /// cannot serve. Prosody ignores them.
    /// </summary>
    public const string LuaXmppIndexes = """
        CREATE INDEX IF NOT EXISTS "luaxmpp_archive_expiry" ON "prosodyarchive" ("host", "store", "when");
        CREATE INDEX IF NOT EXISTS "luaxmpp_archive_with_sort" ON "prosodyarchive" ("host", "user", "store", "with", "sort_id");
        """;

    public const string SelectUserRows =
        """SELECT "key","type","value" FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store""";

    public const string DeleteUserStore = """DELETE FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store""";

    public const string InsertRow =
        """INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES (@host,@user,@store,@key,@type,@value)""";

    public const string SelectUsers =
        """SELECT DISTINCT "user" FROM "prosody" WHERE "host"=@host AND "store"=@store AND "user"<>'' """;

    public const string SelectOne =
        """SELECT "type","value" FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store AND "key"=@key LIMIT 1""";

    public const string DeleteOne =
        """DELETE FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store AND "key"=@key""";

    public const string DeleteUserRows = """DELETE FROM "prosody" WHERE "host"=@host AND "user"=@user""";

    public const string DeleteUserArchive = """DELETE FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user""";

    public const string DeleteArchiveKey =
        """DELETE FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user AND "store"=@store AND "key"=@key""";

    public const string InsertArchive =
        """INSERT INTO "prosodyarchive" ("host","user","store","when","with","key","type","value") VALUES (@host,@user,@store,@when,@with,@key,@type,@value)""";

    public const string LookUpSortId =
        """SELECT "sort_id" FROM "prosodyarchive" WHERE "key"=@key AND "host"=@host AND "user"=@user AND "store"=@store LIMIT 1""";

    public const string SelectArchiveColumns = """SELECT "key","type","value","when","with" FROM "prosodyarchive" WHERE """;

    public const string CountArchive = """SELECT COUNT(*) FROM "prosodyarchive" WHERE """;

    /// <summary>One row per matching item, for a bounded count (<see cref="ArchiveQuery.BoundedCount"/>).</summary>
    public const string SelectArchiveMatch = """SELECT 1 FROM "prosodyarchive" WHERE """;

    public const string DeleteArchiveWhere = """DELETE FROM "prosodyarchive" WHERE """;

    /// <summary>Expiry: at most @batch of the oldest rows of a store, all users (index luaxmpp_archive_expiry).</summary>
    public const string DeleteOlderThan = """
        DELETE FROM "prosodyarchive" WHERE "sort_id" IN (
            SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "store"=@store AND "when"<@cutoff
            ORDER BY "sort_id" LIMIT @batch)
        """;

    /// <summary>Deletes the first @limit matching rows: from the oldest end, or the newest with <paramref name="reverse"/>.</summary>
    public static string DeleteArchiveLimited(string where, bool reverse) =>
        """DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "sort_id" FROM "prosodyarchive" WHERE """
        + where + ArchiveFilter.OrderBy(reverse) + " LIMIT @limit)";

    /// <summary>Archive rows as items; a row whose value is not a stanza is skipped with a warning (Prosody would fail the query).</summary>
    public static List<ArchiveItem> ToItems(IEnumerable<(string Key, string Type, string Value, long When, string With)> rows, string host, string store)
    {
        var items = new List<ArchiveItem>();
        foreach (var row in rows)
        {
            if (new StoredValue(row.Type, row.Value).ToValue() is Xml.XmlElement stanza)
            {
                items.Add(new ArchiveItem(row.Key, row.When, row.With.Length == 0 ? null : row.With, stanza));
            }
            else Log.Warn($"Skipping archive item {row.Key} in {store} on {host}: type {row.Type} is not a readable stanza");
        }
        return items;
    }

    /// <summary>A user's keyval rows as one table: string keys are rows, the rest live in the "" row's JSON table.</summary>
    public static DataTable? ToTable(IEnumerable<(string Key, string Type, string Value)> rows)
    {
        DataTable? result = null;
        foreach (var (key, type, text) in rows)
        {
            result ??= new DataTable();
            var value = new StoredValue(type, text).ToValue();
            if (value is null) continue;
            if (key.Length > 0) result[key] = value;
            else if (value is DataTable extra)
            {
                foreach (var (k, v) in extra) result[k] = v;
            }
        }
        return result;
    }

    /// <summary>The rows a keyval table is saved as: its own row per non-empty string key, the rest in one "" row.</summary>
    public static IEnumerable<(string Key, StoredValue Value)> ToRows(DataTable data)
    {
        var extra = new DataTable();
        foreach (var (key, value) in data)
        {
            if (DataValues.HasOwnRow(key)) yield return ((string)key, StoredValue.From(value!));
            else extra[key] = value;
        }
        if (extra.Count > 0) yield return ("", StoredValue.From(extra));
    }
}
