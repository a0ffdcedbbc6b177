using System.Text;
using System.Text.RegularExpressions;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// Reads what the server appended to its log since the last look and picks out bug-tier entries:
/// "error" level lines (a handler that threw, a Lua error, "Connection failed", "Unhandled exception
/// on the loop thread") and any exception or Lua traceback printed under a line of another level.
/// </summary>
public sealed partial class ServerLogScanner(string path)
{
    private long _offset;

    /// <summary>Skips everything logged so far (start-up).</summary>
    public void SkipToEnd()
    {
        _offset = File.Exists(path) ? new FileInfo(path).Length : 0;
    }

    /// <summary>Bug-tier entries (an entry is a header line plus its continuation lines) logged since the last call.</summary>
    public List<string> Scan()
    {
        var entries = new List<string>();
        if (!File.Exists(path)) return entries;
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (stream.Length <= _offset) return entries;
            stream.Seek(_offset, SeekOrigin.Begin);
            var bytes = new byte[stream.Length - _offset];
            stream.ReadExactly(bytes);
            // Only whole lines: the rest waits for the next scan (a multi-byte character never straddles a newline).
            int lastNewline = Array.LastIndexOf(bytes, (byte)'\n');
            if (lastNewline < 0) return entries;
            _offset += lastNewline + 1;
            text = Encoding.UTF8.GetString(bytes, 0, lastNewline);
        }

        StringBuilder? current = null;
        bool currentIsBug = false;
        foreach (var line in text.Split('\n'))
        {
            var header = HeaderLine().Match(line);
            if (header.Success)
            {
                Flush(entries, current, currentIsBug);
                current = new StringBuilder(line);
                currentIsBug = header.Groups["level"].Value == "error";
            }
            else
            {
                current ??= new StringBuilder();
                current.Append('\n').Append(line);
                if (StackLine().IsMatch(line)) currentIsBug = true;
            }
        }
        Flush(entries, current, currentIsBug);
        return entries;
    }

    private static void Flush(List<string> entries, StringBuilder? entry, bool isBug)
    {
        if (entry is not null && isBug) entries.Add(entry.ToString());
    }

    // ConsoleLogSink's layout: date, time, source (padded, may be longer), level, message.
    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+\s+(?<level>debug|info|warn|error)\s")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"^\s+at |Exception\b|stack traceback|^--- End of")]
    private static partial Regex StackLine();
}
