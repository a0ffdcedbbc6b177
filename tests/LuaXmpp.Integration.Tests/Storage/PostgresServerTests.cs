using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Storage;

/// <summary>The fixture itself: a server starts, takes password logins over TCP, stops and comes back.</summary>
public sealed class PostgresServerTests
{
    [PostgresFact]
    public async Task Starts_accepts_the_test_user_and_restarts_on_the_same_port()
    {
        await using var server = await PostgresServer.StartAsync();
        Assert.StartsWith("15", await server.PsqlAsync("SHOW server_version"));
        Assert.Equal("luaxmpp", await server.PsqlAsync("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'luaxmpp'"));
        int port = server.Port;
        await server.StopAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.PsqlAsync("SELECT 1"));
        await server.RestartAsync();
        Assert.Equal(port, server.Port);
        Assert.Equal("1", await server.PsqlAsync("SELECT 1"));
    }
}
