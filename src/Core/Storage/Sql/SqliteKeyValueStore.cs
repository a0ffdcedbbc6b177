using Dapper;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// A keyval store in the "prosody" table: one row per non-empty string key, and every other key
/// (false, numbers, "") together in a JSON table under the row with key "" (mod_storage_sql's layout).
/// </summary>
internal sealed class SqliteKeyValueStore(SqliteDatabase db, string host, string store) : IKeyValueStore
{
    public Task<DataTable?> GetAsync(string? user) => db.ReadAsync(c => Load(c, null, host, store, user ?? ""));

    public Task SetAsync(string? user, DataTable? data)
    {
        var clean = DataValues.WithoutNulls(data);
        return db.WriteAsync((c, tx) =>
        {
            Save(c, tx, host, store, user ?? "", clean);
            return true;
        });
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        var users = await db.ReadAsync(c => c.Query<string>(
            """SELECT DISTINCT "user" FROM "prosody" WHERE "host"=@host AND "store"=@store AND "user"<>'' """,
            new { host, store }).ToList()).ConfigureAwait(false);
        foreach (var u in users) yield return u;
    }

    internal static DataTable? Load(SqliteConnection c, SqliteTransaction? tx, string host, string store, string user)
    {
        var rows = c.Query<(string Key, string Type, string Value)>(
            """SELECT "key","type","value" FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store""",
            new { host, user, store }, tx).ToList();
        if (rows.Count == 0) return null;
        var result = new DataTable();
        foreach (var (key, type, text) in rows)
        {
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

    internal static void Save(SqliteConnection c, SqliteTransaction tx, string host, string store, string user, DataTable? data)
    {
        c.Execute("""DELETE FROM "prosody" WHERE "host"=@host AND "user"=@user AND "store"=@store""", new { host, user, store }, tx);
        if (data is null) return;
        var extra = new DataTable();
        foreach (var (key, value) in data)
        {
            if (DataValues.HasOwnRow(key)) Insert(c, tx, host, store, user, (string)key, StoredValue.From(value!));
            else extra[key] = value;
        }
        if (extra.Count > 0) Insert(c, tx, host, store, user, "", StoredValue.From(extra));
    }

    internal static void Insert(SqliteConnection c, SqliteTransaction tx, string host, string store, string user, string key, StoredValue value) =>
        c.Execute(
            """INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES (@host,@user,@store,@key,@type,@value)""",
            new { host, user, store, key, type = value.Type, value = value.Text }, tx);
}
