namespace LuaXmpp.Storage;

/// <summary>Why a storage operation failed, as far as a caller needs to know to answer a client.</summary>
public enum StorageFailure
{
    /// <summary>Another process holds the database lock; retrying later may work.</summary>
    Busy,

    /// <summary>The disk (or filesystem quota) is full.</summary>
    Full,

    /// <summary>The database file or its filesystem is read-only.</summary>
    ReadOnly,

    /// <summary>
    /// The database server cannot be reached (down, restarting, network cut); the driver
    /// reconnects by itself, so retrying later works.
    /// </summary>
    Disconnected,

    /// <summary>Any other failure of the storage backend (I/O error, cannot open, corrupt file).</summary>
    Unavailable,
}
