using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// prosody-modules' mod_auth_sql, copied unmodified from the Debian package, over our DBI
/// (LuaDBI's API): passwords come from the operator's own <c>authreg</c> table in an SQLite file.
/// </summary>
public sealed class AuthSqlTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("luaxmpp-authsql-").FullName;

    [Fact]
    public async Task Sqlite_PasswordFromTheAuthregTable_LogsIn_AndAWrongOneDoesNot()
    {
        var database = Path.Combine(_dir, "auth.sqlite");
        Sql(database, "CREATE TABLE authreg (username TEXT, realm TEXT, password TEXT)");
        using var plugins = ProsodyPluginDirectory.With("mod_auth_sql");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("authentication", ServerConfig.Lua("sql"));
            config.Set("auth_sql", $"{{ driver = \"SQLite3\", database = {ServerConfig.Lua(database)} }}");
        });
        Sql(database, "INSERT INTO authreg VALUES ('juliet', @realm, 'r0m30'), ('romeo', 'elsewhere.example', 'x')", server.Host);

        var good = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("juliet"), "--password", "r0m30", "--mech", "PLAIN");
        var wrong = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("juliet"), "--password", "nope", "--mech", "PLAIN", "--step-timeout", "5");
        var otherRealm = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("romeo"), "--password", "x", "--mech", "PLAIN", "--step-timeout", "5");

        good.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal("PLAIN", r.String("mechanism"));
            Assert.StartsWith(server.Jid("juliet") + "/", r.String("bound_jid"));
        });
        wrong.Check(r => Assert.False(r["authenticated"].GetBoolean()));
        otherRealm.Check(r => Assert.False(r["authenticated"].GetBoolean()));
        // The provider is called in a runner of its own, so its queries suspend it: the loop never waits.
        server.Check(() => Assert.DoesNotContain("outside an async runner", server.LogTail(100_000)));
    }

    [PostgresFact]
    public async Task Postgres_PasswordFromTheAuthregTable_LogsIn_AndAWrongOneDoesNot()
    {
        await using var pg = await PostgresServer.StartAsync();
        await pg.PsqlAsync($"CREATE TABLE authreg (username TEXT, realm TEXT, password TEXT); GRANT SELECT ON authreg TO \"{PostgresServer.Username}\"");
        using var plugins = ProsodyPluginDirectory.With("mod_auth_sql");
        await using var server = await ServerProcess.StartAsync(output, config =>
        {
            config.Set("plugin_paths", ServerConfig.LuaList(plugins.Path));
            config.Set("authentication", ServerConfig.Lua("sql"));
            config.Set("auth_sql", pg.SqlOption());
        });
        await pg.PsqlAsync($"INSERT INTO authreg VALUES ('juliet', '{server.Host}', 'r0m30')");

        var good = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("juliet"), "--password", "r0m30", "--mech", "PLAIN");
        var wrong = await PythonClient.RunAsync(server, "login.py", "--jid", server.Jid("juliet"), "--password", "nope", "--mech", "PLAIN", "--step-timeout", "5");

        good.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.StartsWith(server.Jid("juliet") + "/", r.String("bound_jid"));
        });
        wrong.Check(r => Assert.False(r["authenticated"].GetBoolean()));
    }

    private static void Sql(string file, string sql, string? realm = null)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = sql;
        if (realm is not null) command.Parameters.AddWithValue("@realm", realm);
        command.ExecuteNonQuery();
    }

    void IDisposable.Dispose() => Directory.Delete(_dir, recursive: true);
}
