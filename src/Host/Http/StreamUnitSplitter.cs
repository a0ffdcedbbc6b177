using System.Text;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Cuts the server's own serialized stream (the c2s writer's output: well-formed, no DTD, no
/// CDATA) into the units RFC 7395 and XEP-0206 send separately: the stream header, each depth-1
/// element, and the stream's end. Whitespace between units (keepalives) is dropped. Scans bytes:
/// every character that structures XML is ASCII, so UTF-8 sequences never split a token.
/// </summary>
/// <remarks>
/// One array with a read and a write index: taking a unit moves the read index, and the unread
/// rest is moved to the front only when room is needed, so a burst of many units costs linear
/// time. An element that arrives in pieces is scanned once: the scan resumes where it stopped.
/// </remarks>
internal sealed class StreamUnitSplitter
{
    public enum Kind { Header, Element, End }

    private byte[] _data = new byte[4096];
    private int _head;
    private int _tail;
    // Where an unfinished element's scan stopped (relative to _head) and its depth there; 0: none.
    private int _resumeAt;
    private int _resumeDepth;

    private ReadOnlySpan<byte> Pending => _data.AsSpan(_head, _tail - _head);

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        if (_data.Length - _tail < bytes.Length)
        {
            var pending = _tail - _head;
            var target = _data.Length;
            while (target - pending < bytes.Length) target *= 2;
            var data = target == _data.Length ? _data : new byte[target];
            _data.AsSpan(_head, pending).CopyTo(data); // overlapping moves are safe for spans
            _data = data;
            _head = 0;
            _tail = pending;
        }
        bytes.CopyTo(_data.AsSpan(_tail));
        _tail += bytes.Length;
    }

    /// <summary>The next complete unit, or false when the buffer holds none yet.</summary>
    public bool TryTake(out Kind kind, out string text)
    {
        kind = Kind.Element;
        text = "";
        while (true)
        {
            var pending = Pending;
            int start = 0;
            while (start < pending.Length && IsSpace(pending[start])) start++;
            if (start > 0) Skip(start);
            pending = Pending;
            if (pending.Length < 2) return false;
            if (pending[0] != (byte)'<')
            {
                // Stray text at depth 0 cannot come from our writer; drop it up to the next tag.
                int lt = pending.IndexOf((byte)'<');
                Skip(lt < 0 ? pending.Length : lt);
                continue;
            }
            if (pending[1] == (byte)'?')
            {
                int end = pending.IndexOf("?>"u8);
                if (end < 0) return false;
                Skip(end + 2);
                continue;
            }
            int tagEnd = TagEnd(pending, 0);
            if (tagEnd < 0) return false;
            if (pending[1] == (byte)'/')
            {
                Skip(tagEnd + 1);
                kind = Kind.End;
                return true;
            }
            if (pending.StartsWith("<stream:stream"u8))
            {
                text = Take(tagEnd + 1);
                kind = Kind.Header;
                return true;
            }
            int unitEnd = ElementEnd(pending, tagEnd);
            if (unitEnd < 0) return false;
            text = Take(unitEnd + 1);
            kind = Kind.Element;
            return true;
        }
    }

    // The index of the '>' closing the tag that starts at 'from', skipping quoted values.
    private static int TagEnd(ReadOnlySpan<byte> buffer, int from)
    {
        byte quote = 0;
        for (int i = from + 1; i < buffer.Length; i++)
        {
            var b = buffer[i];
            if (quote != 0)
            {
                if (b == quote) quote = 0;
            }
            else if (b is (byte)'"' or (byte)'\'') quote = b;
            else if (b == (byte)'>') return i;
        }
        return -1;
    }

    // Given the end of the element's start tag, the index of the '>' that closes the element;
    // -1 (remembering how far it got) when the element is not complete yet.
    private int ElementEnd(ReadOnlySpan<byte> buffer, int startTagEnd)
    {
        if (buffer[startTagEnd - 1] == (byte)'/') return startTagEnd;
        int depth = 1;
        int i = startTagEnd + 1;
        if (_resumeAt > i)
        {
            i = _resumeAt;
            depth = _resumeDepth;
        }
        while (i < buffer.Length)
        {
            int lt = buffer[i..].IndexOf((byte)'<');
            if (lt < 0) break;
            i += lt;
            int end = TagEnd(buffer, i);
            if (end < 0) break;
            if (i + 1 < buffer.Length && buffer[i + 1] == (byte)'/') depth--;
            else if (buffer[end - 1] != (byte)'/' && buffer[i + 1] is not ((byte)'?' or (byte)'!')) depth++;
            if (depth == 0)
            {
                _resumeAt = 0;
                return end;
            }
            i = end + 1;
        }
        _resumeAt = i;
        _resumeDepth = depth;
        return -1;
    }

    private void Skip(int count)
    {
        _head += count;
        _resumeAt = 0;
        if (_head == _tail) _head = _tail = 0;
    }

    private string Take(int count)
    {
        var text = Encoding.UTF8.GetString(_data, _head, count);
        Skip(count);
        return text;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
