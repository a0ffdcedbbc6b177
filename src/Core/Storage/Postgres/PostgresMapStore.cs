using Dapper;
using LuaXmpp.Storage.Sql;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>A map store over the keyval rows: a string key is its own row, any other key lives in the "" row's JSON table.</summary>
internal sealed class PostgresMapStore(PostgresDatabase db, string host, string store) : IMapStore
{
    // The keyval store of the same name shares these rows.
    private readonly StoreScope _rows = StoreScope.KeyValue(host, store);

    public Task<object?> GetAsync(string? user, object key)
    {
        key = LuaNumber.NormalizeKey(key);
        return db.ReadAsync(_rows, async c =>
        {
            if (DataValues.HasOwnRow(key)) return await ReadRowAsync(c, null, user ?? "", (string)key).ConfigureAwait(false);
            return await ReadRowAsync(c, null, user ?? "", "").ConfigureAwait(false) is DataTable extra ? extra.GetValueOrDefault(key) : null;
        });
    }

    public Task SetAsync(string? user, object key, object? value) =>
        SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

    public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
    {
        // Copy before leaving the caller's thread: the caller may change its objects afterwards.
        var changes = values.Select(kv => KeyValuePair.Create(LuaNumber.NormalizeKey(kv.Key), DataValues.Copy(kv.Value))).ToList();
        return db.WriteAsync(_rows, async (c, tx) =>
        {
            await ApplyAsync(c, tx, user ?? "", changes).ConfigureAwait(false);
            return true;
        });
    }

    private async Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, string user, List<KeyValuePair<object, object?>> changes)
    {
        DataTable? extra = null;
        foreach (var (key, value) in changes)
        {
            if (DataValues.HasOwnRow(key))
            {
                await c.ExecuteAsync(ProsodySql.DeleteOne, new { host, user, store, key }, tx).ConfigureAwait(false);
                if (value is not null) await PostgresKeyValueStore.InsertAsync(c, tx, host, store, user, (string)key, StoredValue.From(value)).ConfigureAwait(false);
                continue;
            }
            extra ??= await ReadRowAsync(c, tx, user, "").ConfigureAwait(false) as DataTable ?? new DataTable();
            if (value is null) extra.Remove(key);
            else extra[key] = value;
        }
        if (extra is null) return;
        await c.ExecuteAsync(ProsodySql.DeleteOne, new { host, user, store, key = "" }, tx).ConfigureAwait(false);
        // As on SQLite, an emptied shared row goes away; Prosody reads that as no keys too.
        if (extra.Count > 0) await PostgresKeyValueStore.InsertAsync(c, tx, host, store, user, "", StoredValue.From(extra)).ConfigureAwait(false);
    }

    private async Task<object?> ReadRowAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string user, string key)
    {
        var row = await c.QueryFirstOrDefaultAsync<(string Type, string Value)>(ProsodySql.SelectOne, new { host, user, store, key }, tx).ConfigureAwait(false);
        return row.Type is null ? null : new StoredValue(row.Type, row.Value).ToValue();
    }
}
