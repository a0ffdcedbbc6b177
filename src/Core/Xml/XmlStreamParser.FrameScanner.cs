using System.Buffers;

namespace LuaXmpp.Xml;

public sealed partial class XmlStreamParser
{
    private enum FrameKind { Declaration, Header, Element, End }

    /// <summary>
    /// Finds the end of the next unit in raw bytes, resumably. All the markup it tracks is ASCII and every
    /// byte of a multi-byte UTF-8 sequence is ≥ 0x80, so scanning bytes is safe whatever the split.
    /// It rejects early what it can see cheaply (comments, DTDs, PIs, '&lt;' in attribute values, depth,
    /// size, an end tag that does not match its start tag); the <see cref="FrameReader"/> does the full
    /// validation on the complete unit.
    /// </summary>
    /// <remarks>
    /// Open elements are remembered as (FNV-1a hash, length) of their raw qualified names, one slot per
    /// depth, so a mismatched end tag is refused on its '&gt;' as expat does, without waiting for a depth-1
    /// end that may never come and without allocating per element. A hash collision only lets a mismatch
    /// through to the <see cref="FrameReader"/>, which compares the bytes exactly.
    /// </remarks>
    private sealed class FrameScanner
    {
        private enum State { Lt, StartName, Tag, Quote, Text, EndName, EndTail, Bang, CdataOpen, Cdata, Pi }

        private const uint FnvOffset = 2166136261;
        private const uint FnvPrime = 16777619;

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

        /// <summary>Hash and length of each open element's qualified name, indexed by depth - 1.</summary>
        private uint[] _openHashes = [];
        private int[] _openLengths = [];

        /// <summary>The name being read (start or end tag).</summary>
        private uint _nameHash;
        private int _nameLength;

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
            if (maxDepth != _maxDepth)
            {
                _maxDepth = maxDepth;
                _openHashes = new uint[maxDepth];
                _openLengths = new int[maxDepth];
            }
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
                    case State.StartName:
                        if (InStartName(span[i++])) return Complete(i);
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
                    case State.EndName:
                    case State.EndTail:
                        if (InEndTag(span[i++])) return Complete(i);
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
                    _state = State.EndName;
                    _nameHash = FnvOffset;
                    _nameLength = 0;
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
                    // XML 1.0 §3.1: a start tag begins with its name.
                    if (!FrameReader.IsNameStart(b)) throw XmlStreamException.NotWellFormed("Invalid name");
                    if (++_depth > _maxDepth)
                    {
                        throw new XmlStreamException(StreamErrorCondition.PolicyViolation,
                            $"Elements nested deeper than {_maxDepth}");
                    }
                    if (topLevel && _expectHeader) Kind = FrameKind.Header;
                    _state = State.StartName;
                    _nameHash = (FnvOffset ^ b) * FnvPrime;
                    _nameLength = 1;
                    _slash = false;
                    break;
            }
        }

        /// <summary>One byte of a start tag's name; at its end the name is pushed and the tag goes on.</summary>
        private bool InStartName(byte b)
        {
            if (!EndsStartName(b))
            {
                _nameHash = (_nameHash ^ b) * FnvPrime;
                _nameLength++;
                return false;
            }
            _openHashes[_depth - 1] = _nameHash;
            _openLengths[_depth - 1] = _nameLength;
            _state = State.Tag;
            return InTag(b);
        }

        /// <summary>
        /// One byte of an end tag after "&lt;/": the name, optional whitespace, '&gt;' (XML 1.0 §3.1). The
        /// name must be the innermost open element's (§3 "Element Type Match"); true when the unit is complete.
        /// </summary>
        private bool InEndTag(byte b)
        {
            if (b == (byte)'>') return CloseElement();
            if (FrameReader.IsWhitespace(b)) _state = State.EndTail;
            else if (_state == State.EndTail) throw XmlStreamException.NotWellFormed("Malformed closing tag");
            else
            {
                _nameHash = (_nameHash ^ b) * FnvPrime;
                _nameLength++;
            }
            return false;
        }

        private bool CloseElement()
        {
            // The stream's own closing tag is checked against the header by the FrameReader.
            if (Kind == FrameKind.End) return true;
            if (_openHashes[_depth - 1] != _nameHash || _openLengths[_depth - 1] != _nameLength)
            {
                throw XmlStreamException.NotWellFormed("Mismatched closing tag");
            }
            if (--_depth == 0) return true;
            _state = State.Text;
            return false;
        }

        private static bool EndsStartName(byte b) =>
            FrameReader.IsWhitespace(b) || b is (byte)'>' or (byte)'/' or (byte)'\'' or (byte)'"' or (byte)'=' or (byte)'<';


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
