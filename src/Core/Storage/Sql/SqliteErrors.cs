using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>What a SQLite error means to a caller and to the operator.</summary>
internal static class SqliteErrors
{
    public static StorageException Failed(this StorageHealth health, SqliteException error)
    {
        var failure = Classify(error);
        return health.Failed(failure, Describe(failure, error), Advice(failure), error);
    }

    /// <summary>Primary result codes (https://www.sqlite.org/rescode.html); extended codes carry them in the low byte.</summary>
    public static StorageFailure Classify(SqliteException error) => (error.SqliteErrorCode & 0xff) switch
    {
        5 or 6 => StorageFailure.Busy, // SQLITE_BUSY, SQLITE_LOCKED
        13 => StorageFailure.Full, // SQLITE_FULL
        8 => StorageFailure.ReadOnly, // SQLITE_READONLY
        _ => StorageFailure.Unavailable,
    };

    private static string Describe(StorageFailure failure, SqliteException error) => failure switch
    {
        StorageFailure.Busy => "database is locked by another connection",
        StorageFailure.Full => "disk full",
        StorageFailure.ReadOnly => "database is read-only",
        _ when (error.SqliteErrorCode & 0xff) == 14 => "cannot open the database or its -wal/-shm files",
        _ => "database error",
    };

    private static string Advice(StorageFailure failure) => failure switch
    {
        StorageFailure.Busy => "check for another process holding a write lock.",
        StorageFailure.Full => "free space on the filesystem; storage recovers by itself.",
        StorageFailure.ReadOnly => "check the permissions of the file and of its -wal and -shm files (SQLite creates them with the file's mode), and the filesystem's mount options; storage recovers by itself.",
        _ => "check the file, its directory and its filesystem (read-only? permissions?); storage recovers by itself.",
    };
}
