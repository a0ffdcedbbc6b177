namespace LuaXmpp.Host.Admin;

/// <summary>What a shell command answers: lines of output (repl-output) and the result line (repl-result).</summary>
public sealed record ShellReply(IReadOnlyList<string> Output, string Result, bool IsError)
{
    public static ShellReply Ok(string result, params string[] output) => new(output, result, false);

    public static ShellReply Error(string result) => new([], result, true);
}
