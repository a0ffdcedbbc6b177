using System.Text;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Splits the text a server sends into the stream header, depth-1 elements and the closing
/// tag, without a full XML parser: enough for a server's own output, which has no comments,
/// CDATA or DOCTYPE (RFC 6120 §11.1) and escapes '&lt;' and '&gt;' in text and attributes.
/// </summary>
internal sealed class StanzaFramer
{
    private readonly StringBuilder _text = new();
    private int _scanned;
    private int _depth;
    private int _frameStart = -1;

    /// <summary>Whether the server's &lt;/stream:stream&gt; arrived.</summary>
    public bool StreamClosed { get; private set; }

    /// <summary>A stream (re)start: the server's next bytes begin a new stream header.</summary>
    public void Reset()
    {
        _text.Clear();
        _scanned = 0;
        _depth = 0;
        _frameStart = -1;
        StreamClosed = false;
    }

    /// <summary>Adds decoded text and returns every depth-1 element completed by it.</summary>
    public List<string> Push(string chunk)
    {
        _text.Append(chunk);
        var frames = new List<string>();
        while (_scanned < _text.Length)
        {
            int open = IndexOf('<', _scanned);
            if (open < 0)
            {
                _scanned = _text.Length;
                break;
            }

            int close = TagEnd(open);
            if (close < 0)
            {
                _scanned = open; // an unfinished tag: wait for more text
                break;
            }

            _scanned = close + 1;
            Classify(open, close, frames);
        }

        Compact();
        return frames;
    }

    private void Classify(int open, int close, List<string> frames)
    {
        char second = _text[open + 1];
        if (second == '?') return; // the XML declaration
        if (second == '/')
        {
            _depth--;
            if (_depth == 1) Emit(close, frames);
            else if (_depth == 0) StreamClosed = true;
            return;
        }

        bool selfClosing = _text[close - 1] == '/';
        if (_depth == 1) _frameStart = open;
        if (selfClosing)
        {
            if (_depth == 1) Emit(close, frames);
        }
        else _depth++;
    }

    private void Emit(int close, List<string> frames)
    {
        frames.Add(_text.ToString(_frameStart, close + 1 - _frameStart));
        _frameStart = -1;
    }

    /// <summary>Drops text nobody needs any more, so a long session does not accumulate it.</summary>
    private void Compact()
    {
        int keep = _frameStart >= 0 ? Math.Min(_frameStart, _scanned) : _scanned;
        if (keep == 0) return;
        _text.Remove(0, keep);
        _scanned -= keep;
        if (_frameStart >= 0) _frameStart -= keep;
    }

    private int IndexOf(char c, int from)
    {
        for (int i = from; i < _text.Length; i++)
        {
            if (_text[i] == c) return i;
        }

        return -1;
    }

    /// <summary>The '&gt;' closing the tag at <paramref name="open"/>, skipping quoted attribute values.</summary>
    private int TagEnd(int open)
    {
        char quote = '\0';
        for (int i = open + 1; i < _text.Length; i++)
        {
            char c = _text[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
            }
            else if (c is '\'' or '"') quote = c;
            else if (c == '>') return i;
        }

        return -1;
    }
}
