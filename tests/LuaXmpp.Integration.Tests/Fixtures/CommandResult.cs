namespace LuaXmpp.Tests.Fixtures;

/// <summary>What a finished child process left behind.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public override string ToString() =>
        $"exit code {ExitCode}{(TimedOut ? " (killed after timeout)" : "")}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
