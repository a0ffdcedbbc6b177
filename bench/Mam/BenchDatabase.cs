using LuaXmpp.Configuration;
using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// Where the bench's archives live: SQLite files in the run's directory (default), or with
/// --postgres databases on a PostgreSQL 15 the bench starts itself (fsync on, as in production).
/// </summary>
internal static class BenchDatabase
{
    private static PostgresServer? _server;

    public static bool IsPostgres => _server is not null;

    public static string Name => IsPostgres ? "PostgreSQL 15" : "SQLite";

    public static async Task StartPostgresAsync()
    {
        _server = await PostgresServer.StartAsync(durable: true);
        Console.WriteLine($"PostgreSQL 15 on 127.0.0.1:{_server.Port} (data in {_server.DataDirectory}, fsync on)");
    }

    public static async Task StopAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>The sql option for a database (a file name for SQLite, created on PostgreSQL).</summary>
    public static ConfigTable? SqlOption(string database)
    {
        if (_server is null) return null;
        if (database != PostgresServer.Database) _server.CreateDatabaseAsync(database).GetAwaiter().GetResult();
        return _server.SqlTable(database);
    }

    /// <summary>
    /// Refreshes the planner's statistics after a bulk fill, as autovacuum does within a minute
    /// of it: a table that was never analyzed leaves the planner unable to tell the key index
    /// from the sort index, and the id lookup of every page then scans the user's archive.
    /// </summary>
    public static async Task AnalyzeAsync(string database)
    {
        if (_server is not null) await _server.PsqlAsync("ANALYZE \"prosodyarchive\"", database);
    }

    /// <summary>The same option as Prosody config text.</summary>
    public static string ProsodySqlOption(string sqliteFile, string postgresDatabase) => _server is null
        ? $"{{ driver = \"SQLite3\", database = \"{sqliteFile}\" }}"
        : _server.SqlOption(postgresDatabase);
}
