namespace LuaXmpp.Storage;

/// <summary>
/// A storage backend could not do what was asked (disk full, read-only file, locked database).
/// The driver has already logged the failure (once per burst), so a caller answers its client
/// and need not log it again at error level.
/// </summary>
public sealed class StorageException(StorageFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public StorageFailure Failure { get; } = failure;
}
