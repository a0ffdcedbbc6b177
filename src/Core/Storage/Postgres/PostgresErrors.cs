using LuaXmpp.Storage.Sql;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>What a PostgreSQL or Npgsql error means to a caller and to the operator.</summary>
internal static class PostgresErrors
{
    public static bool IsDatabaseError(Exception error) => error is NpgsqlException or TimeoutException;

    public static StorageException Failed(this StorageHealth health, Exception error)
    {
        var failure = Classify(error);
        return health.Failed(failure, Describe(failure), Advice(failure), error);
    }

    /// <summary>SQLSTATE classes: https://www.postgresql.org/docs/15/errcodes-appendix.html</summary>
    public static StorageFailure Classify(Exception error) => error switch
    {
        PostgresException { SqlState: "53100" } => StorageFailure.Full, // disk_full
        PostgresException { SqlState: "25006" } => StorageFailure.ReadOnly, // read_only_sql_transaction (a standby)
        PostgresException { SqlState: "40001" or "40P01" or "55P03" or "53300" } => StorageFailure.Busy, // serialization, deadlock, lock, too many connections
        PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P0", StringComparison.Ordinal) => StorageFailure.Disconnected,
        PostgresException => StorageFailure.Unavailable,
        // Npgsql's own: the socket failed, the connect timed out, the pool could not open.
        NpgsqlException { IsTransient: true } or TimeoutException => StorageFailure.Disconnected,
        _ => StorageFailure.Unavailable,
    };

    private static string Describe(StorageFailure failure) => failure switch
    {
        StorageFailure.Full => "the database server's disk is full",
        StorageFailure.ReadOnly => "the database server only accepts reads (a standby?)",
        StorageFailure.Busy => "the database is busy (lock, deadlock or connection limit)",
        StorageFailure.Disconnected => "cannot reach the database server",
        _ => "database error",
    };

    private static string Advice(StorageFailure failure) => failure switch
    {
        StorageFailure.Disconnected => "check that PostgreSQL is running and reachable; LuaXmpp reconnects by itself.",
        StorageFailure.Busy => "check for long transactions and max_connections; storage recovers by itself.",
        _ => "check the PostgreSQL server's log; storage recovers by itself.",
    };
}
