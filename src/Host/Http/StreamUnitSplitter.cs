using System.Text;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Cuts the server's own serialized stream (the c2s writer's output: well-formed, no DTD, no
/// CDATA) into the units RFC 7395 sends as separate messages: the stream header, each depth-1
/// element, and the stream's end. Whitespace between units (keepalives) is dropped. Scans bytes:
/// every character that structures XML is ASCII, so UTF-8 sequences never split a token.
/// </summary>
internal sealed class StreamUnitSplitter
{
    public enum Kind { Header, Element, End }

    private readonly List<byte> _buffer = [];

    public void Feed(ReadOnlySpan<byte> bytes) => _buffer.AddRange(bytes);

    /// <summary>The next complete unit, or false when the buffer holds none yet.</summary>
    public bool TryTake(out Kind kind, out string text)
    {
        kind = Kind.Element;
        text = "";
        while (true)
        {
            int start = 0;
            while (start < _buffer.Count && IsSpace(_buffer[start])) start++;
            if (start > 0) _buffer.RemoveRange(0, start);
            if (_buffer.Count < 2) return false;
            if (_buffer[0] != (byte)'<')
            {
                // Stray text at depth 0 cannot come from our writer; drop it up to the next tag.
                int lt = _buffer.IndexOf((byte)'<');
                _buffer.RemoveRange(0, lt < 0 ? _buffer.Count : lt);
                continue;
            }
            if (_buffer[1] == (byte)'?')
            {
                int end = IndexOf("?>", 2);
                if (end < 0) return false;
                _buffer.RemoveRange(0, end + 2);
                continue;
            }
            int tagEnd = TagEnd(0);
            if (tagEnd < 0) return false;
            if (_buffer[1] == (byte)'/')
            {
                _buffer.RemoveRange(0, tagEnd + 1);
                kind = Kind.End;
                return true;
            }
            if (StartsWith("<stream:stream"))
            {
                text = Take(tagEnd + 1);
                kind = Kind.Header;
                return true;
            }
            int unitEnd = ElementEnd(tagEnd);
            if (unitEnd < 0) return false;
            text = Take(unitEnd + 1);
            kind = Kind.Element;
            return true;
        }
    }

    // The index of the '>' closing the tag that starts at 'from', skipping quoted values.
    private int TagEnd(int from)
    {
        byte quote = 0;
        for (int i = from + 1; i < _buffer.Count; i++)
        {
            var b = _buffer[i];
            if (quote != 0)
            {
                if (b == quote) quote = 0;
            }
            else if (b is (byte)'"' or (byte)'\'') quote = b;
            else if (b == (byte)'>') return i;
        }
        return -1;
    }

    // Given the end of the element's start tag, the index of the '>' that closes the element.
    private int ElementEnd(int startTagEnd)
    {
        if (_buffer[startTagEnd - 1] == (byte)'/') return startTagEnd;
        int depth = 1;
        int i = startTagEnd + 1;
        while (i < _buffer.Count)
        {
            if (_buffer[i] != (byte)'<')
            {
                i++;
                continue;
            }
            int end = TagEnd(i);
            if (end < 0) return -1;
            if (i + 1 < _buffer.Count && _buffer[i + 1] == (byte)'/') depth--;
            else if (_buffer[end - 1] != (byte)'/' && _buffer[i + 1] is not ((byte)'?' or (byte)'!')) depth++;
            if (depth == 0) return end;
            i = end + 1;
        }
        return -1;
    }

    private int IndexOf(string ascii, int from)
    {
        for (int i = from; i + ascii.Length <= _buffer.Count; i++)
        {
            int j = 0;
            while (j < ascii.Length && _buffer[i + j] == (byte)ascii[j]) j++;
            if (j == ascii.Length) return i;
        }
        return -1;
    }

    private bool StartsWith(string ascii)
    {
        if (_buffer.Count < ascii.Length) return false;
        for (int i = 0; i < ascii.Length; i++)
        {
            if (_buffer[i] != (byte)ascii[i]) return false;
        }
        return true;
    }

    private string Take(int count)
    {
        var text = Encoding.UTF8.GetString(_buffer.GetRange(0, count).ToArray());
        _buffer.RemoveRange(0, count);
        return text;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
