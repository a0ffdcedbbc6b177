namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// Where the servers the tests start keep their "sql" storage. SQLite (a file in the server's
/// data directory) by default; with <c>LUAXMPP_ITEST_STORAGE=postgresql</c> every server gets a
/// fresh database on one real PostgreSQL 15 started for the test run (<see cref="PostgresServer"/>),
/// so the same scenarios run on both backends (scripts/test.sh runs the storage, offline,
/// roster, smacks and MAM classes a second time that way).
/// </summary>
public static class ServerStorage
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartSharedAsync);

    public static bool IsPostgres { get; } =
        string.Equals(Environment.GetEnvironmentVariable("LUAXMPP_ITEST_STORAGE"), "postgresql", StringComparison.OrdinalIgnoreCase);

    /// <summary>Points the config's sql option at a new database when the run is on PostgreSQL.</summary>
    public static async Task AdaptAsync(ServerConfig config)
    {
        if (!IsPostgres) return;
        var server = await Shared.Value;
        var database = "s" + Guid.NewGuid().ToString("N");
        await server.CreateDatabaseAsync(database);
        config.Set("sql", server.SqlOption(database));
    }

    private static async Task<PostgresServer> StartSharedAsync()
    {
        var server = await PostgresServer.StartAsync();
        // One server for the whole run, stopped (by PID) when the test process exits.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }
}
