namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// A config file that cannot be evaluated: a syntax error, a runtime error, an unreadable file.
/// The message reads "file:line: what" (or "file: what" when there is no line), like Lua's own.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int? line, string detail)
        : base(line is { } l ? $"{file}:{l}: {detail}" : $"{file}: {detail}")
    {
        File = file;
        Line = line;
        Detail = detail;
    }

    /// <summary>The config file the error is in (an included file when the error is there).</summary>
    public string File { get; }

    public int? Line { get; }

    /// <summary>The message without the file and line.</summary>
    public string Detail { get; }
}
