namespace LuaXmpp.Storage;

/// <summary>
/// Opens stores by (host, store name) with the driver the <c>storage</c> option chooses
/// (Prosody's storagemanager): "internal"/"sql"/"memory", per store or for all.
/// One store name may be opened as both keyval and map; both see the same rows.
/// </summary>
public interface IStorageManager
{
    IKeyValueStore OpenKeyValue(string host, string store);

    IMapStore OpenMap(string host, string store);

    IArchiveStore OpenArchive(string host, string store);

    /// <summary>Deletes everything a user has on a host, in every store (deluser).</summary>
    Task PurgeUserAsync(string host, string user);
}
