using Dapper;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// A keyval store in the "prosody" table: one row per non-empty string key, and every other key
/// (false, numbers, "") together in a JSON table under the row with key "" (mod_storage_sql's layout).
/// </summary>
internal sealed class SqliteKeyValueStore(SqliteDatabase db, string host, string store) : IKeyValueStore
{
    private readonly StoreScope _rows = StoreScope.KeyValue(host, store);

    public Task<DataTable?> GetAsync(string? user) => db.ReadAsync(_rows, c => Load(c, null, host, store, user ?? ""));

    public Task SetAsync(string? user, DataTable? data)
    {
        var clean = DataValues.WithoutNulls(data);
        return db.WriteAsync(_rows, (c, tx) =>
        {
            Save(c, tx, host, store, user ?? "", clean);
            return true;
        });
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        var users = await db.ReadAsync(_rows, c => c.Query<string>(ProsodySql.SelectUsers, new { host, store }).ToList()).ConfigureAwait(false);
        foreach (var u in users) yield return u;
    }

    internal static DataTable? Load(SqliteConnection c, SqliteTransaction? tx, string host, string store, string user) =>
        ProsodySql.ToTable(c.Query<(string Key, string Type, string Value)>(ProsodySql.SelectUserRows, new { host, user, store }, tx));

    internal static void Save(SqliteConnection c, SqliteTransaction tx, string host, string store, string user, DataTable? data)
    {
        c.Execute(ProsodySql.DeleteUserStore, new { host, user, store }, tx);
        if (data is null) return;
        foreach (var (key, value) in ProsodySql.ToRows(data)) Insert(c, tx, host, store, user, key, value);
    }

    internal static void Insert(SqliteConnection c, SqliteTransaction tx, string host, string store, string user, string key, StoredValue value) =>
        c.Execute(ProsodySql.InsertRow, new { host, user, store, key, type = value.Type, value = value.Text }, tx);
}
