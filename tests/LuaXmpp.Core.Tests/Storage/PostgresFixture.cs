using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Storage;

/// <summary>One real PostgreSQL server for a test class; each test takes a fresh database on it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("PostgreSQL did not start");

    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>A new empty database and the global options that store everything in it.</summary>
    public Dictionary<string, object?> NewDatabaseOptions(out string database)
    {
        database = "t" + Guid.NewGuid().ToString("N");
        Server.CreateDatabaseAsync(database).GetAwaiter().GetResult();
        return new Dictionary<string, object?> { ["storage"] = "sql", ["sql"] = Server.SqlTable(database) };
    }
}
