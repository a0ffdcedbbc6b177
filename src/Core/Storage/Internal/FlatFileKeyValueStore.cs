namespace LuaXmpp.Storage.Internal;

/// <summary>A keyval store: DATA/HOST/STORE/USER.dat holding <c>return { ... };</c>.</summary>
internal sealed class FlatFileKeyValueStore(FlatFileDatabase db, string host, string store) : IKeyValueStore
{
    public Task<DataTable?> GetAsync(string? user) => db.Writer.ReadAsync(() => db.Load(host, store, user));

    public Task SetAsync(string? user, DataTable? data)
    {
        // Copied before leaving the caller's thread: the caller may change its table afterwards.
        var clean = DataValues.WithoutNulls(data);
        return db.Writer.WriteAsync(() =>
        {
            db.Save(host, store, user, clean);
            return true;
        });
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        var users = await db.Writer.ReadAsync(() => db.Layout.Users(host, store, DataPathLayout.KeyValueExtension).ToList()).ConfigureAwait(false);
        foreach (var u in users) yield return u;
    }
}
