namespace LuaXmpp.Host.Hosting;

/// <summary>An operator mistake, as the one line that names it and the exit code it ends with.</summary>
public sealed record OperatorError(string Message, int ExitCode);

/// <summary>Startup stopped by an <see cref="OperatorError"/>: the command prints the line and exits with the code.</summary>
public sealed class OperatorException(OperatorError error) : Exception(error.Message)
{
    public OperatorError Error { get; } = error;
}
