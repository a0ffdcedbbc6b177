using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>The "null" driver: keeps nothing and finds nothing (Prosody's null_storage_driver).</summary>
internal sealed class NullStorageDriver : IStorageDriver, IKeyValueStore, IMapStore, IArchiveStore
{
    public string Name => "null";

    public IKeyValueStore OpenKeyValue(string host, string store) => this;

    public IMapStore OpenMap(string host, string store) => this;

    public IArchiveStore OpenArchive(string host, string store) => this;

    public Task PurgeUserAsync(string host, string user) => Task.CompletedTask;

    public Task<DataTable?> GetAsync(string? user) => Task.FromResult<DataTable?>(null);

    public Task SetAsync(string? user, DataTable? data) => Task.CompletedTask;

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    public Task<object?> GetAsync(string? user, object key) => Task.FromResult<object?>(null);

    public Task SetAsync(string? user, object key, object? value) => Task.CompletedTask;

    public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values) => Task.CompletedTask;

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with) =>
        Task.FromResult(key ?? Guid.NewGuid().ToString());

    public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query) =>
        Task.FromResult(new ArchiveResult([], query.WantTotal ? 0 : null));

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => Task.FromResult(0L);

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => Task.FromResult(0L);

    public void Dispose()
    {
    }
}
