using Dapper;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// A map store over the same rows as <see cref="SqliteKeyValueStore"/>: a string key is its own row,
/// any other key lives in the shared "" row's JSON table (as mod_storage_sql's map_store does).
/// </summary>
internal sealed class SqliteMapStore(SqliteDatabase db, string host, string store) : IMapStore
{
    // The keyval store of the same name shares these rows.
    private readonly StoreScope _rows = StoreScope.KeyValue(host, store);

    public Task<object?> GetAsync(string? user, object key)
    {
        key = LuaNumber.NormalizeKey(key);
        return db.ReadAsync(_rows, c =>
        {
            if (DataValues.HasOwnRow(key)) return ReadRow(c, null, user ?? "", (string)key);
            return ReadRow(c, null, user ?? "", "") is DataTable extra ? extra.GetValueOrDefault(key) : null;
        });
    }

    public Task SetAsync(string? user, object key, object? value) =>
        SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

    public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
    {
        // Copy before leaving the caller's thread: the caller may change its objects afterwards.
        var changes = values.Select(kv => KeyValuePair.Create(LuaNumber.NormalizeKey(kv.Key), DataValues.Copy(kv.Value))).ToList();
        return db.WriteAsync(_rows, (c, tx) =>
        {
            Apply(c, tx, user ?? "", changes);
            return true;
        });
    }

    private void Apply(SqliteConnection c, SqliteTransaction tx, string user, List<KeyValuePair<object, object?>> changes)
    {
        DataTable? extra = null;
        foreach (var (key, value) in changes)
        {
            if (DataValues.HasOwnRow(key))
            {
                c.Execute(ProsodySql.DeleteOne, new { host, user, store, key }, tx);
                if (value is not null) SqliteKeyValueStore.Insert(c, tx, host, store, user, (string)key, StoredValue.From(value));
                continue;
            }
            extra ??= ReadRow(c, tx, user, "") as DataTable ?? new DataTable();
            if (value is null) extra.Remove(key);
            else extra[key] = value;
        }
        if (extra is null) return;
        c.Execute(ProsodySql.DeleteOne, new { host, user, store, key = "" }, tx);
        // Unlike Prosody (which would write "{}"), an emptied shared row goes away; both read that as no keys.
        if (extra.Count > 0) SqliteKeyValueStore.Insert(c, tx, host, store, user, "", StoredValue.From(extra));
    }

    private object? ReadRow(SqliteConnection c, SqliteTransaction? tx, string user, string key)
    {
        var row = c.QueryFirstOrDefault<(string Type, string Value)>(ProsodySql.SelectOne, new { host, user, store, key }, tx);
        return row.Type is null ? null : new StoredValue(row.Type, row.Value).ToValue();
    }
}
