using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// A SQL driver LuaXmpp does not have stops the server at start with one line naming the
/// option and exit code 3 (README, "Exit codes"); it never falls back to another database.
/// </summary>
public sealed class UnsupportedSqlDriverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MySql_stops_the_server_with_one_line_and_exit_code_3()
    {
        await using var server = await ServerProcess.CreateAsync(output, config => config
            .Set("sql", "{ driver = \"MySQL\", database = \"prosody\", host = \"127.0.0.1\", username = \"prosody\", password = \"x\" }"));
        var (fileName, arguments) = server.Flavor.ServerCommand(server.ConfigPath);

        var run = await ChildProcess.RunAsync(fileName, arguments, server.Directory, TimeSpan.FromSeconds(60));

        Assert.False(run.TimedOut, run.ToString());
        Assert.Equal(3, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("sql.driver = \"MySQL\"", line);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr);
        Assert.False(File.Exists(Path.Combine(server.DataPath, "prosody.sqlite")), "no SQLite file may be created instead");
    }
}
