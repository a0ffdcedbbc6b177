using System.Text;

namespace LuaXmpp.Host.Admin;

/// <summary>
/// One shell line as Prosody's console reads its commands: <c>section:command(arg, ...)</c> with
/// Lua string (single or double quoted, backslash escapes), number, true/false/nil arguments.
/// </summary>
public sealed record ShellCall(string Section, string Command, IReadOnlyList<string?> Args)
{
    public string? Arg(int i) => i < Args.Count ? Args[i] : null;

    /// <summary>The call, or null with a reason when the line is not of that form.</summary>
    public static ShellCall? Parse(string line, out string? error)
    {
        error = null;
        var text = line.Trim().TrimEnd(';').Trim();
        int colon = text.IndexOf(':');
        int open = text.IndexOf('(');
        if (colon <= 0 || (open >= 0 && open < colon))
        {
            error = "expected section:command(arguments), e.g. c2s:show() or module:load(\"ping\", \"example.com\"); type help";
            return null;
        }
        var section = text[..colon].Trim();
        string command;
        var args = new List<string?>();
        if (open < 0)
        {
            command = text[(colon + 1)..].Trim();
        }
        else
        {
            command = text[(colon + 1)..open].Trim();
            if (!text.EndsWith(')'))
            {
                error = "missing ')' at the end of the command";
                return null;
            }
            if (!ParseArgs(text[(open + 1)..^1], args, out error)) return null;
        }
        if (!IsName(section) || !IsName(command))
        {
            error = $"'{section}:{command}' is not a command; type help";
            return null;
        }
        return new ShellCall(section, command, args);
    }

    private static bool IsName(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static bool ParseArgs(string text, List<string?> args, out string? error)
    {
        error = null;
        int i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) return true;
            if (text[i] is '"' or '\'')
            {
                var quote = text[i++];
                var value = new StringBuilder();
                while (i < text.Length && text[i] != quote)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                        value.Append(text[i] switch { 'n' => '\n', 't' => '\t', _ => text[i] });
                    }
                    else value.Append(text[i]);
                    i++;
                }
                if (i >= text.Length)
                {
                    error = "unfinished string";
                    return false;
                }
                i++;
                args.Add(value.ToString());
            }
            else
            {
                int start = i;
                while (i < text.Length && text[i] != ',' && !char.IsWhiteSpace(text[i])) i++;
                var word = text[start..i];
                args.Add(word == "nil" ? null : word);
            }
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) return true;
            if (text[i] != ',')
            {
                error = $"expected ',' between arguments at '{text[i..]}'";
                return false;
            }
            i++;
        }
    }
}
