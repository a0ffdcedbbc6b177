namespace LuaXmpp.Storage;

/// <summary>Prosody's "map" store kind: single keys of a user's table, read and written alone.</summary>
public interface IMapStore
{
    Task<object?> GetAsync(string? user, object key);

    /// <summary>Sets one key; null deletes it.</summary>
    Task SetAsync(string? user, object key, object? value);

    /// <summary>Sets several keys in one transaction (null values delete).</summary>
    Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values);
}
