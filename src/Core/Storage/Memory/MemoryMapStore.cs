namespace LuaXmpp.Storage.Memory;

/// <summary>Single keys of the same tables the keyval store of that name holds.</summary>
internal sealed class MemoryMapStore(MemoryDatabase db, string host, string store) : IMapStore
{
    public Task<object?> GetAsync(string? user, object key)
    {
        key = LuaNumber.NormalizeKey(key);
        lock (db.Gate)
        {
            var table = db.Table(host, store, user ?? "");
            return Task.FromResult(table is null ? null : DataValues.Copy(table.GetValueOrDefault(key)));
        }
    }

    public Task SetAsync(string? user, object key, object? value) =>
        SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

    public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
    {
        var changes = values.Select(kv => KeyValuePair.Create(LuaNumber.NormalizeKey(kv.Key), DataValues.Copy(kv.Value))).ToList();
        lock (db.Gate)
        {
            var table = db.Table(host, store, user ?? "") ?? new DataTable();
            foreach (var (k, v) in changes)
            {
                if (v is null) table.Remove(k);
                else table[k] = v;
            }
            db.SetTable(host, store, user ?? "", table);
        }
        return Task.CompletedTask;
    }
}
