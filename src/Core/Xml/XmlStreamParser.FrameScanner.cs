using System.Buffers;

namespace LuaXmpp.Xml;

public sealed partial class XmlStreamParser
{
    private enum FrameKind { Declaration, Header, Element, End }

    /// <summary>
    /// Finds the end of the next unit in raw bytes, resumably. All the markup it tracks is ASCII and every
    /// byte of a multi-byte UTF-8 sequence is ≥ 0x80, so scanning bytes is safe whatever the split.
    /// It rejects early what it can see cheaply (comments, DTDs, PIs, '&lt;' in attribute values, depth,
    /// size); the <see cref="FrameReader"/> does the full validation on the complete unit.
    /// </summary>
    private sealed class FrameScanner
    {
        private enum State { Lt, Tag, Quote, Text, EndTag, Bang, CdataOpen, Cdata, Pi }

        private static ReadOnlySpan<byte> CdataOpening => "[CDATA["u8;

        private State _state;
        private int _depth;
        private byte _quote;
        private bool _slash;
        private int _matched;
        private bool _complete;
        private bool _expectHeader;
        private bool _declarationAllowed;
        private int _maxDepth;

        /// <summary>Bytes of the current unit examined so far (the unit starts at the buffer's start).</summary>
        private long _scanned;

        public FrameKind Kind { get; private set; }

        /// <summary>Starts a unit; the buffer's first byte is its '&lt;'.</summary>
        public void Start(bool expectHeader, bool declarationAllowed)
        {
            _state = State.Text;
            _depth = 0;
            _matched = 0;
            _slash = false;
            _complete = false;
            _scanned = 0;
            _expectHeader = expectHeader;
            _declarationAllowed = declarationAllowed;
            Kind = FrameKind.Element;
        }

        /// <summary>
        /// Continues scanning where the last call stopped. Returns true with the unit's byte length once
        /// its last '&gt;' is seen; false when every available byte is examined and the unit goes on.
        /// </summary>
        public bool Scan(in ReadOnlySequence<byte> buffer, int limit, int maxDepth, out long length)
        {
            _maxDepth = maxDepth;
            length = 0;
            foreach (var memory in buffer.Slice(_scanned))
            {
                var span = memory.Span;
                long room = limit - _scanned;
                // RFC 6120 §13.12: never look at (or wait for) more than the limit allows.
                bool truncated = span.Length > room;
                if (truncated) span = span[..(int)Math.Max(room, 0)];
                _scanned += Advance(span);
                if (_complete)
                {
                    length = _scanned;
                    return true;
                }
                if (truncated)
                {
                    throw new XmlStreamException(StreamErrorCondition.PolicyViolation,
                        $"Element larger than {limit} bytes");
                }
            }
            return false;
        }

        /// <summary>Runs the state machine over <paramref name="span"/>; returns the bytes consumed.</summary>
        private int Advance(ReadOnlySpan<byte> span)
        {
            int i = 0;
            while (i < span.Length)
            {
                int k;
                switch (_state)
                {
                    case State.Text:
                        k = span[i..].IndexOf((byte)'<');
                        if (k < 0) return span.Length;
                        i += k + 1;
                        _state = State.Lt;
                        break;
                    case State.Lt:
                        AfterLessThan(span[i++]);
                        break;
                    case State.Tag:
                        if (InTag(span[i++])) return Complete(i);
                        break;
                    case State.Quote:
                        k = span[i..].IndexOfAny(_quote, (byte)'<');
                        if (k < 0) return span.Length;
                        if (span[i + k] == (byte)'<') throw XmlStreamException.NotWellFormed("'<' in an attribute value");
                        i += k + 1;
                        _state = State.Tag;
                        break;
                    case State.EndTag:
                        k = span[i..].IndexOf((byte)'>');
                        if (k < 0) return span.Length;
                        i += k + 1;
                        if (Kind == FrameKind.End || --_depth == 0) return Complete(i);
                        _state = State.Text;
                        break;
                    case State.Bang:
                        // RFC 6120 §11.1: comments and DTDs are restricted; CDATA sections are ordinary XML.
                        if (span[i++] != (byte)'[') throw Restricted("Comments and document type declarations");
                        _state = State.CdataOpen;
                        _matched = 1;
                        break;
                    case State.CdataOpen:
                        if (span[i++] != CdataOpening[_matched]) throw XmlStreamException.NotWellFormed("Malformed CDATA section");
                        if (++_matched == CdataOpening.Length)
                        {
                            _state = State.Cdata;
                            _matched = 0;
                        }
                        break;
                    case State.Cdata:
                        i = InCdata(span, i);
                        break;
                    case State.Pi:
                        byte b = span[i++];
                        if (b == (byte)'>' && _matched == 1) return Complete(i);
                        _matched = b == (byte)'?' ? 1 : 0;
                        break;
                }
            }
            return span.Length;
        }

        private int Complete(int consumed)
        {
            _complete = true;
            return consumed;
        }

        private void AfterLessThan(byte b)
        {
            bool topLevel = _depth == 0;
            switch (b)
            {
                case (byte)'/':
                    if (topLevel)
                    {
                        if (_expectHeader) throw XmlStreamException.NotWellFormed("Closing tag before the stream header");
                        Kind = FrameKind.End;
                    }
                    _state = State.EndTag;
                    break;
                case (byte)'!':
                    if (topLevel) throw Restricted("Comments and document type declarations");
                    _state = State.Bang;
                    break;
                case (byte)'?':
                    // Only the XML declaration, before the stream header; any other PI is restricted (§11.1).
                    if (!(topLevel && _declarationAllowed)) throw Restricted("Processing instructions");
                    Kind = FrameKind.Declaration;
                    _state = State.Pi;
                    _matched = 0;
                    break;
                default:
                    if (++_depth > _maxDepth)
                    {
                        throw new XmlStreamException(StreamErrorCondition.PolicyViolation,
                            $"Elements nested deeper than {_maxDepth}");
                    }
                    if (topLevel && _expectHeader) Kind = FrameKind.Header;
                    _state = State.Tag;
                    _slash = false;
                    break;
            }
        }

        /// <summary>One byte inside a start tag; true when the unit is complete.</summary>
        private bool InTag(byte b)
        {
            switch (b)
            {
                case (byte)'>':
                    if (_slash) _depth--;
                    if (Kind == FrameKind.Header)
                    {
                        if (_slash) throw XmlStreamException.NotWellFormed("Empty stream element");
                        return true;
                    }
                    if (_depth == 0) return true;
                    _state = State.Text;
                    return false;
                case (byte)'"' or (byte)'\'':
                    _quote = b;
                    _state = State.Quote;
                    _slash = false;
                    return false;
                case (byte)'<':
                    throw XmlStreamException.NotWellFormed("'<' inside a tag");
                default:
                    _slash = b == (byte)'/';
                    return false;
            }
        }

        /// <summary>Inside CDATA: looks for "]]&gt;", with <c>_matched</c> counting the trailing ']'.</summary>
        private int InCdata(ReadOnlySpan<byte> span, int i)
        {
            if (_matched == 0)
            {
                int k = span[i..].IndexOf((byte)']');
                if (k < 0) return span.Length;
                _matched = 1;
                return i + k + 1;
            }
            byte b = span[i];
            if (b == (byte)']') _matched = 2;
            else if (b == (byte)'>' && _matched == 2)
            {
                _matched = 0;
                _state = State.Text;
            }
            else _matched = 0;
            return i + 1;
        }

        private static XmlStreamException Restricted(string what) =>
            new(StreamErrorCondition.RestrictedXml, what + " are not allowed in XMPP (RFC 6120 §11.1)");
    }
}
