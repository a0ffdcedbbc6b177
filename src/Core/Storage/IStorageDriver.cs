namespace LuaXmpp.Storage;

/// <summary>One storage backend the manager can hand stores out of (Prosody's storage provider).</summary>
internal interface IStorageDriver : IDisposable
{
    string Name { get; }

    IKeyValueStore OpenKeyValue(string host, string store);

    IMapStore OpenMap(string host, string store);

    IArchiveStore OpenArchive(string host, string store);

    /// <summary>Deletes every row the user has on the host, in every store of this driver.</summary>
    Task PurgeUserAsync(string host, string user);
}
