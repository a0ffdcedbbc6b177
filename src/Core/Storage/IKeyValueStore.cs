namespace LuaXmpp.Storage;

/// <summary>
/// Prosody's "keyval" store kind: one table per user (user null: the host's own data).
/// Implementations are safe to call from any thread and never block the caller's thread on I/O
/// longer than the call itself.
/// </summary>
public interface IKeyValueStore
{
    Task<DataTable?> GetAsync(string? user);

    /// <summary>Replaces the user's table; null or empty deletes it.</summary>
    Task SetAsync(string? user, DataTable? data);

    /// <summary>Users that have data in this store.</summary>
    IAsyncEnumerable<string> UsersAsync();
}
