using LuaXmpp.Logging;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Turns database errors into <see cref="StorageException"/>s and tells the operator about them:
/// one error line when a kind of operation (writes, reads) starts failing or fails for a new
/// reason, one info line when it works again. A full disk or a database server restart under
/// load fails thousands of operations; the log gets a line per burst, not per operation.
/// Thread-safe: readers run on pool threads. The driver classifies its own errors
/// (<see cref="SqliteErrors"/>, Postgres/PostgresErrors).
/// </summary>
internal sealed class StorageHealth(string database, string operations, Logger log)
{
    private readonly object _gate = new();
    private int _failures;
    private StorageFailure? _reported;

    /// <summary>Whether the last operation failed (and a recovery line is still due).</summary>
    public bool Failing => Volatile.Read(ref _failures) > 0;

    /// <param name="description">What went wrong, in the operator's words ("disk full").</param>
    /// <param name="advice">What to check, one sentence.</param>
    public StorageException Failed(StorageFailure failure, string description, string advice, Exception error)
    {
        string text = $"{description} ({error.Message})";
        bool report;
        lock (_gate)
        {
            _failures++;
            report = _reported != failure;
            _reported = failure;
        }
        if (report)
        {
            log.Error($"Storage {operations} failing on {database}: {text}; {advice} Further failures are counted, not logged, until {operations} work again");
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
        if (failures > 0) log.Info($"Storage {operations} work again on {database} after {failures} failed");
    }
}
