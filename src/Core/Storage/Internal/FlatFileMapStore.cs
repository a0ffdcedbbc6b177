namespace LuaXmpp.Storage.Internal;

/// <summary>
/// A map store over the keyval file of the same name: mod_storage_internal has no map kind, so
/// Prosody's storagemanager reads the whole table and writes it back. The read-modify-write runs
/// as one job on the writer thread, so concurrent key updates cannot lose each other.
/// </summary>
internal sealed class FlatFileMapStore(FlatFileDatabase db, string host, string store) : IMapStore
{
    public Task<object?> GetAsync(string? user, object key)
    {
        key = LuaNumber.NormalizeKey(key);
        return db.Writer.ReadAsync(() => db.Load(host, store, user)?.GetValueOrDefault(key));
    }

    public Task SetAsync(string? user, object key, object? value) =>
        SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

    public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
    {
        var changes = values.Select(kv => KeyValuePair.Create(LuaNumber.NormalizeKey(kv.Key), DataValues.Copy(kv.Value))).ToList();
        return db.Writer.WriteAsync(() =>
        {
            var table = db.Load(host, store, user) ?? new DataTable();
            foreach (var (k, v) in changes)
            {
                if (v is null) table.Remove(k);
                else table[k] = v;
            }
            db.Save(host, store, user, table);
            return true;
        });
    }
}
