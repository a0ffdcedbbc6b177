using System.Buffers;

namespace LuaXmpp.Xml;

/// <summary>
/// The incremental parser for one direction of an XMPP stream (RFC 6120 §4, restricted XML per §11).
/// </summary>
/// <remarks>
/// Parsing happens in two linear passes over each unit. The <see cref="FrameScanner"/> walks raw bytes as
/// they arrive and finds where the next unit ends (the XML declaration, the stream header, one complete
/// depth-1 element, or the stream's closing tag); it tracks tags, quotes, CDATA and depth, counts bytes
/// against <see cref="MaxStanzaBytes"/> and remembers how far it got, so bytes are examined once however
/// the input is split. Only when a unit is complete does the <see cref="FrameReader"/> build it — over one
/// contiguous span, so UTF-8 sequences split across segments need no special care — validating names,
/// namespaces, references and characters on the way.
///
/// Contract with the caller (a PipeReader loop):
/// <code>while (parser.TryRead(ref buffer, out var ev)) Handle(ev); reader.AdvanceTo(buffer.Start, buffer.End);</code>
/// When TryRead returns false, every byte of <c>buffer</c> has been examined and the parser has kept the
/// scan state for the unfinished unit, which begins at <c>buffer.Start</c>; the next call must pass a
/// buffer that starts at that same position (what the pipe hands back after AdvanceTo(buffer.Start, ...)).
/// After an <see cref="XmlStreamException"/> the parser is unusable: the connection sends the stream
/// error and closes.
/// </remarks>
public sealed partial class XmlStreamParser
{
    private enum Mode { ExpectHeader, InStream, Closed }

    private readonly XmlStreamLimits _limits;
    private readonly FrameScanner _scanner = new();
    private readonly FrameReader _reader;
    private Mode _mode;
    private bool _declarationSeen;
    private bool _byteOrderMarkAllowed;
    private bool _inFrame;
    private int _maxStanzaBytes;

    public XmlStreamParser(XmlStreamLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(limits.MaxAttributes);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxNameLength, 1);
        _limits = limits;
        MaxStanzaBytes = limits.MaxStanzaBytes;
        _reader = new FrameReader(limits);
        Reset();
    }

    /// <summary>The byte limit for one depth-1 element; raised after authentication (c2s_stanza_size_limit).</summary>
    public int MaxStanzaBytes
    {
        get => _maxStanzaBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxStanzaBytes = value;
        }
    }

    /// <summary>
    /// Parses at most one event from the start of <paramref name="buffer"/>. Returns true and slices
    /// <paramref name="buffer"/> past the consumed bytes when an event is complete; returns false when more
    /// input is needed (whitespace between elements is consumed even then).
    /// </summary>
    /// <exception cref="XmlStreamException">The input breaks the stream.</exception>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out StreamEvent? ev)
    {
        ev = null;
        while (true)
        {
            if (!_inFrame && !BeginFrame(ref buffer)) return false;
            if (!_scanner.Scan(buffer, _maxStanzaBytes, _limits.MaxDepth, out long length)) return false;
            _inFrame = false;
            ev = Build(buffer.Slice(0, length), _scanner.Kind);
            buffer = buffer.Slice(length);
            // The XML declaration produces no event; go on to the stream header.
            if (ev is not null) return true;
        }
    }

    /// <summary>Expects a fresh stream header, as after STARTTLS (RFC 6120 §5.4.3.3) and SASL success (§6.4.6).</summary>
    public void Reset()
    {
        _mode = Mode.ExpectHeader;
        _declarationSeen = false;
        _byteOrderMarkAllowed = true;
        _inFrame = false;
        _reader.Reset();
    }

    /// <summary>Skips inter-element whitespace and starts scanning a unit at the next '&lt;'.</summary>
    private bool BeginFrame(ref ReadOnlySequence<byte> buffer)
    {
        if (_byteOrderMarkAllowed && !SkipByteOrderMark(ref buffer)) return false;
        var reader = new SequenceReader<byte>(buffer);
        reader.AdvancePastAny((byte)' ', (byte)'\t', (byte)'\r', (byte)'\n');
        buffer = buffer.Slice(reader.Position);
        if (!reader.TryPeek(out byte first)) return false;
        if (_mode == Mode.Closed) throw XmlStreamException.NotWellFormed("Data after the end of the stream");
        // Before the header this is plain XML 1.0 (§2.1); inside the stream only whitespace keepalives
        // (RFC 6120 §4.6.1) may sit between depth-1 elements, character data there has no meaning.
        if (first != (byte)'<') throw XmlStreamException.NotWellFormed("Character data at stream level");
        bool expectHeader = _mode == Mode.ExpectHeader;
        _scanner.Start(expectHeader, declarationAllowed: expectHeader && !_declarationSeen);
        _inFrame = true;
        return true;
    }

    /// <summary>
    /// A UTF-8 byte order mark may open each new stream document (XML 1.0 §4.3.3, Appendix F.1); expat
    /// accepts it, so we do. Returns false while the buffer holds only a prefix of it.
    /// </summary>
    private bool SkipByteOrderMark(ref ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> mark = [0xEF, 0xBB, 0xBF];
        var reader = new SequenceReader<byte>(buffer);
        for (int i = 0; i < mark.Length; i++)
        {
            if (!reader.TryRead(out byte b)) return false;
            if (b != mark[i])
            {
                _byteOrderMarkAllowed = false;
                return true;
            }
        }
        _byteOrderMarkAllowed = false;
        buffer = buffer.Slice(mark.Length);
        return true;
    }

    private StreamEvent? Build(ReadOnlySequence<byte> frame, FrameKind kind)
    {
        if (frame.IsSingleSegment) return Build(frame.FirstSpan, kind);
        // A unit that spans segments is copied once into contiguous memory; it is bounded by MaxStanzaBytes.
        int length = checked((int)frame.Length);
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(rented);
            return Build(rented.AsSpan(0, length), kind);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private StreamEvent? Build(ReadOnlySpan<byte> frame, FrameKind kind)
    {
        switch (kind)
        {
            case FrameKind.Declaration:
                _reader.ReadDeclaration(frame);
                _declarationSeen = true;
                return null;
            case FrameKind.Header:
                var header = _reader.ReadHeader(frame, out string defaultNamespace);
                _mode = Mode.InStream;
                return new StreamHeaderEvent(header, defaultNamespace);
            case FrameKind.End:
                _reader.ReadStreamEnd(frame);
                _mode = Mode.Closed;
                return new StreamEndEvent();
            default:
                return new StreamElementEvent(_reader.ReadElement(frame));
        }
    }
}
