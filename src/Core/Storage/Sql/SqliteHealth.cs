using LuaXmpp.Logging;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Turns SQLite errors into <see cref="StorageException"/>s and tells the operator about them:
/// one error line when a kind of operation (writes, reads) starts failing or fails for a new
/// reason, one info line when it works again. A full disk under load fails thousands of writes;
/// the log gets a line per burst, not per write. Thread-safe: readers run on pool threads.
/// </summary>
internal sealed class SqliteHealth(string path, string operations, Logger log)
{
    private readonly object _gate = new();
    private int _failures;
    private StorageFailure? _reported;

    /// <summary>Whether the last operation failed (and a recovery line is still due).</summary>
    public bool Failing => Volatile.Read(ref _failures) > 0;

    public StorageException Failed(SqliteException error)
    {
        var failure = Classify(error);
        string text = $"{Describe(failure, error)} ({error.Message})";
        bool report;
        lock (_gate)
        {
            _failures++;
            report = _reported != failure;
            _reported = failure;
        }
        if (report)
        {
            log.Error($"Storage {operations} failing on {path}: {text}; {Advice(failure)} Further failures are counted, not logged, until {operations} work again");
        }
        return new StorageException(failure, $"Storage {operations} failed: {text}", error);
    }

    public void Succeeded()
    {
        if (!Failing) return;
        int failures;
        lock (_gate)
        {
            failures = _failures;
            _failures = 0;
            _reported = null;
        }
        if (failures > 0) log.Info($"Storage {operations} work again on {path} after {failures} failed");
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
