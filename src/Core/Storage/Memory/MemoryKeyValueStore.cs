namespace LuaXmpp.Storage.Memory;

internal sealed class MemoryKeyValueStore(MemoryDatabase db, string host, string store) : IKeyValueStore
{
    public Task<DataTable?> GetAsync(string? user)
    {
        lock (db.Gate)
        {
            var table = db.Table(host, store, user ?? "");
            return Task.FromResult(table is null ? null : DataValues.CopyTable(table));
        }
    }

    public Task SetAsync(string? user, DataTable? data)
    {
        var copy = DataValues.WithoutNulls(data);
        lock (db.Gate) db.SetTable(host, store, user ?? "", copy);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        List<string> users;
        lock (db.Gate) users = db.Users(host, store).ToList();
        foreach (var u in users) yield return u;
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
