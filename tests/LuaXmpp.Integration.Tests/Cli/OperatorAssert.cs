using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Cli;

/// <summary>What an operator must see when a command fails: the exit code and one line naming the problem, no stack trace.</summary>
internal static class OperatorAssert
{
    public static void OneLine(CommandResult result, int exitCode, params string[] mentions)
    {
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == exitCode, $"expected exit code {exitCode}\n{result}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var matching = lines.Where(l => mentions.All(m => l.Contains(m, StringComparison.Ordinal))).ToArray();
        Assert.True(matching.Length == 1, $"expected one stderr line with {string.Join(", ", mentions)}\n{result}");
        Assert.DoesNotContain(" at LuaXmpp.", result.Stderr + result.Stdout);
        Assert.DoesNotContain("Unhandled exception", result.Stderr + result.Stdout);
    }

    /// <summary>Runs the server in the foreground through the CLI: for starts that must fail, this returns.</summary>
    public static Task<CommandResult> StartAsync(ServerProcess server) => server.RunCliAsync("run");
}
