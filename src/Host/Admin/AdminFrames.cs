using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace LuaXmpp.Host.Admin;

/// <summary>
/// The few elements of the admin stream, cut from what arrived so far. The stream is flat (a
/// header, then childless elements with text), so a small scanner does, and unlike an
/// XmlReader it never waits for bytes beyond the element it returns.
/// </summary>
internal sealed partial class AdminFrames
{
    private readonly StringBuilder _pending = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly char[] _chars = new char[8192];

    /// <summary>One element: its name, its type attribute, its text (entities decoded); Name "stream" for the header, "/stream" for the close.</summary>
    public sealed record Frame(string Name, string? Type, string Text);

    public void Append(byte[] buffer, int count)
    {
        int n = _decoder.GetChars(buffer, 0, count, _chars, 0);
        _pending.Append(_chars, 0, n);
    }

    public Frame? Next()
    {
        var text = _pending.ToString();
        var match = Element().Match(text);
        if (!match.Success) return null;
        _pending.Remove(0, match.Index + match.Length);
        if (match.Groups["header"].Success) return new Frame("stream", null, "");
        if (match.Groups["close"].Success) return new Frame("/stream", null, "");
        var name = match.Groups["name"].Value;
        var type = match.Groups["type"].Success ? match.Groups["type"].Value : null;
        return new Frame(name, type, WebUtility.HtmlDecode(match.Groups["text"].Value));
    }

    [GeneratedRegex("""
        (?<header><stream:stream\b[^>]*>)
        |(?<close></stream:stream>)
        |<(?<name>[\w-]+)(?:\s+xmlns=(?:'[^']*'|"[^"]*"))?(?:\s+type=['"](?<type>\w+)['"])?\s*(?:/>|>(?<text>[^<]*)</\k<name>>)
        """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Element();
}
