using System.Text;
using System.Text.Unicode;

namespace LuaXmpp.Xml;

public sealed partial class XmlStreamParser
{
    /// <summary>
    /// Builds one complete unit found by the <see cref="FrameScanner"/> into elements, in a single linear
    /// pass over contiguous bytes. Holds the stream's namespace scope: the bindings the stream header
    /// declared stay in force for every depth-1 element (Namespaces in XML 1.0 §6.1), so a stanza may use
    /// "stream:" or inherit "jabber:client".
    /// </summary>
    private sealed class FrameReader(XmlStreamLimits limits)
    {
        private readonly record struct Binding(string Prefix, string Uri);

        private readonly record struct OpenElement(XmlElement Element, int QNameStart, int QNameLength, int BindingsBefore);

        /// <summary>An attribute as written: offsets into the unit and the prefix's length (-1: none).</summary>
        private readonly record struct RawAttribute(int NameStart, int NameLength, int Colon, int ValueStart, int ValueLength);

        private const string XmlnsNamespace = "http://www.w3.org/2000/xmlns/";

        private readonly NameTable _names = new();
        private readonly List<Binding> _bindings = new();
        private readonly List<OpenElement> _open = new();
        private readonly List<RawAttribute> _attributes = new();
        private readonly TextDecoder _decoder = new();

        /// <summary>Character data read since the last tag: one piece as is, several joined once at the next tag.</summary>
        private string? _pendingText;
        private readonly StringBuilder _joinedText = new();
        private byte[] _streamQName = [];

        public void Reset()
        {
            _bindings.Clear();
            // Namespaces in XML 1.0 §3: "xml" is bound by definition.
            _bindings.Add(new Binding("xml", Namespaces.Xml));
            _streamQName = [];
        }

        /// <summary>Checks &lt;?xml version='1.0' encoding='UTF-8'?&gt; (XML 1.0 §2.8; RFC 6120 §11.6: UTF-8 only).</summary>
        public void ReadDeclaration(ReadOnlySpan<byte> unit)
        {
            if (!unit.StartsWith("<?xml"u8) || unit.Length < 8 || !IsWhitespace(unit[5]))
            {
                throw new XmlStreamException(StreamErrorCondition.RestrictedXml, "Processing instructions are not allowed in XMPP (RFC 6120 §11.1)");
            }
            var body = unit[..^2];
            int pos = 5;
            bool sawVersion = false;
            while (SkipWhitespace(body, ref pos) && pos < body.Length)
            {
                ReadQName(body, ref pos, out int nameStart, out int nameLength, out _);
                var name = body.Slice(nameStart, nameLength);
                var value = ReadQuotedValue(body, ref pos);
                if (name.SequenceEqual("version"u8)) sawVersion = value.StartsWith("1."u8);
                else if (name.SequenceEqual("encoding"u8))
                {
                    if (!value.SequenceEqual("UTF-8"u8) && !value.SequenceEqual("utf-8"u8) && !value.SequenceEqual("utf8"u8) && !value.SequenceEqual("UTF8"u8))
                    {
                        throw new XmlStreamException(StreamErrorCondition.UnsupportedEncoding, "XMPP streams are UTF-8 (RFC 6120 §11.6)");
                    }
                }
                else if (!name.SequenceEqual("standalone"u8)) throw XmlStreamException.NotWellFormed("Malformed XML declaration");
            }
            if (!sawVersion || pos != body.Length) throw XmlStreamException.NotWellFormed("Malformed XML declaration");
        }

        /// <summary>Reads the stream header's start tag (RFC 6120 §4.7) and keeps its namespace bindings.</summary>
        public XmlElement ReadHeader(ReadOnlySpan<byte> unit, out string defaultNamespace)
        {
            int pos = 0;
            var header = ReadStartTag(unit, ref pos, out bool empty, out int qStart, out int qLength, out _);
            if (empty || pos != unit.Length) throw XmlStreamException.NotWellFormed("Malformed stream header");
            // §4.8.1: the stream element must be "stream" in the streams namespace, whatever its prefix.
            if (header.Name != "stream" || header.Namespace != Namespaces.Streams)
            {
                throw new XmlStreamException(StreamErrorCondition.InvalidNamespace,
                    $"The stream element must be 'stream' in {Namespaces.Streams}");
            }
            _streamQName = unit.Slice(qStart, qLength).ToArray();
            defaultNamespace = LookupPrefix("") ?? "";
            return header;
        }

        /// <summary>Checks that the closing tag matches the stream header's name (RFC 6120 §4.4).</summary>
        public void ReadStreamEnd(ReadOnlySpan<byte> unit)
        {
            int pos = 2;
            ReadQName(unit, ref pos, out int qStart, out int qLength, out _);
            SkipWhitespace(unit, ref pos);
            if (pos != unit.Length - 1 || !unit.Slice(qStart, qLength).SequenceEqual(_streamQName))
            {
                throw XmlStreamException.NotWellFormed("Closing tag does not match the stream header");
            }
        }

        /// <summary>Builds one complete depth-1 element.</summary>
        public XmlElement ReadElement(ReadOnlySpan<byte> unit)
        {
            _open.Clear();
            _pendingText = null;
            _joinedText.Clear();
            XmlElement? root = null;
            int pos = 0;
            int elements = 0;
            while (pos < unit.Length)
            {
                if (unit[pos] != (byte)'<')
                {
                    int k = unit[pos..].IndexOf((byte)'<');
                    if (k < 0 || _open.Count == 0) throw XmlStreamException.NotWellFormed("Character data outside an element");
                    var raw = unit.Slice(pos, k);
                    // XML 1.0 §2.4: CharData must not contain "]]>" outside a CDATA section's end.
                    if (raw.IndexOf("]]>"u8) >= 0) throw XmlStreamException.NotWellFormed("']]>' in character data");
                    AddText(_decoder.Decode(raw, TextKind.Text));
                    pos += k;
                    continue;
                }
                byte next = pos + 1 < unit.Length ? unit[pos + 1] : (byte)0;
                if (next == (byte)'/') ReadEndTag(unit, ref pos);
                else if (next == (byte)'!') ReadCdata(unit, ref pos);
                else if (next == (byte)'?') throw new XmlStreamException(StreamErrorCondition.RestrictedXml, "Processing instructions are not allowed in XMPP (RFC 6120 §11.1)");
                else
                {
                    if (++elements > limits.MaxElements)
                        throw new XmlStreamException(StreamErrorCondition.PolicyViolation, $"More than {limits.MaxElements} elements in one stanza");
                    int before = _bindings.Count;
                    var element = ReadStartTag(unit, ref pos, out bool empty, out int qStart, out int qLength, out _);
                    if (_open.Count > 0) FlushText(_open[^1].Element);
                    if (_open.Count == 0) root = element;
                    else _open[^1].Element.Children.Add(element);
                    if (empty) _bindings.RemoveRange(before, _bindings.Count - before);
                    else _open.Add(new OpenElement(element, qStart, qLength, before));
                }
                if (_open.Count == 0) break;
            }
            if (root is null || _open.Count != 0 || pos != unit.Length) throw XmlStreamException.NotWellFormed("Unbalanced element");
            return root;
        }

        private void ReadEndTag(ReadOnlySpan<byte> unit, ref int pos)
        {
            pos += 2;
            ReadQName(unit, ref pos, out int qStart, out int qLength, out _);
            SkipWhitespace(unit, ref pos);
            Expect(unit, ref pos, (byte)'>');
            if (_open.Count == 0) throw XmlStreamException.NotWellFormed("Closing tag without an element");
            var open = _open[^1];
            if (!unit.Slice(qStart, qLength).SequenceEqual(unit.Slice(open.QNameStart, open.QNameLength)))
            {
                throw XmlStreamException.NotWellFormed("Mismatched closing tag");
            }
            FlushText(open.Element);
            _bindings.RemoveRange(open.BindingsBefore, _bindings.Count - open.BindingsBefore);
            _open.RemoveAt(_open.Count - 1);
        }

        private void ReadCdata(ReadOnlySpan<byte> unit, ref int pos)
        {
            if (!unit[pos..].StartsWith("<![CDATA["u8) || _open.Count == 0)
            {
                throw new XmlStreamException(StreamErrorCondition.RestrictedXml, "Comments and document type declarations are not allowed in XMPP (RFC 6120 §11.1)");
            }
            pos += 9;
            int end = unit[pos..].IndexOf("]]>"u8);
            if (end < 0) throw XmlStreamException.NotWellFormed("Unterminated CDATA section");
            AddText(_decoder.Decode(unit.Slice(pos, end), TextKind.Cdata));
            pos += end + 3;
        }

        /// <summary>
        /// Adjacent character data (text, references, CDATA) becomes one text node, as Prosody builds it. The
        /// pieces are joined once when the next tag comes: appending each to the node would copy the text
        /// so far every time, quadratic in a stanza of many short CDATA sections.
        /// </summary>
        private void AddText(string text)
        {
            if (text.Length == 0) return;
            if (_pendingText is null)
            {
                _pendingText = text;
                return;
            }
            if (_joinedText.Length == 0) _joinedText.Append(_pendingText);
            _joinedText.Append(text);
        }

        /// <summary>Adds the character data read since the last tag to <paramref name="parent"/>, the element it belongs to.</summary>
        private void FlushText(XmlElement parent)
        {
            if (_pendingText is null) return;
            string text = _joinedText.Length > 0 ? _joinedText.ToString() : _pendingText;
            parent.Children.Add(new XmlText(text));
            _pendingText = null;
            _joinedText.Clear();
        }

        /// <summary>Reads "&lt;name attr='v'...&gt;" (or "/&gt;"), declaring its namespace bindings.</summary>
        private XmlElement ReadStartTag(ReadOnlySpan<byte> unit, ref int pos, out bool empty, out int qStart, out int qLength, out int colon)
        {
            pos++;
            ReadQName(unit, ref pos, out qStart, out qLength, out colon);
            empty = ReadAttributes(unit, ref pos);
            int before = _bindings.Count;
            foreach (var a in _attributes) DeclareIfNamespace(unit, a, before);
            var element = new XmlElement(ResolveLocal(unit, qStart, qLength, colon), ResolveElementNamespace(unit, qStart, colon));
            foreach (var a in _attributes)
            {
                if (IsNamespaceDeclaration(unit, a)) continue;
                string name = ResolveAttributeName(unit, a);
                foreach (var existing in element.Attributes)
                {
                    if (existing.Name == name) throw XmlStreamException.NotWellFormed("Duplicate attribute");
                }
                string value = _decoder.DecodeAttributeValue(unit.Slice(a.ValueStart, a.ValueLength));
                element.Attributes.Add(new XmlAttribute(name, value));
            }
            return element;
        }

        /// <summary>Collects the raw attributes of a start tag; returns true for an empty-element tag.</summary>
        private bool ReadAttributes(ReadOnlySpan<byte> unit, ref int pos)
        {
            _attributes.Clear();
            while (true)
            {
                bool separated = SkipWhitespace(unit, ref pos);
                if (pos >= unit.Length) throw XmlStreamException.NotWellFormed("Unterminated start tag");
                if (unit[pos] == (byte)'>')
                {
                    pos++;
                    return false;
                }
                if (unit[pos] == (byte)'/')
                {
                    pos++;
                    Expect(unit, ref pos, (byte)'>');
                    return true;
                }
                if (!separated) throw XmlStreamException.NotWellFormed("Attributes must be separated by whitespace");
                ReadQName(unit, ref pos, out int nameStart, out int nameLength, out int colon);
                var value = ReadQuotedValue(unit, ref pos);
                int valueStart = pos - 1 - value.Length; // pos is past the closing quote
                if (_attributes.Count == limits.MaxAttributes)
                {
                    throw new XmlStreamException(StreamErrorCondition.PolicyViolation, $"More than {limits.MaxAttributes} attributes");
                }
                _attributes.Add(new RawAttribute(nameStart, nameLength, colon, valueStart, value.Length));
            }
        }

        /// <summary>Reads Eq and a quoted attribute value (XML 1.0 §2.3, §3.1) and returns the raw value.</summary>
        private static ReadOnlySpan<byte> ReadQuotedValue(ReadOnlySpan<byte> unit, ref int pos)
        {
            SkipWhitespace(unit, ref pos);
            Expect(unit, ref pos, (byte)'=');
            SkipWhitespace(unit, ref pos);
            if (pos >= unit.Length || (unit[pos] != (byte)'\'' && unit[pos] != (byte)'"'))
            {
                throw XmlStreamException.NotWellFormed("Attribute value must be quoted");
            }
            byte quote = unit[pos++];
            int end = unit[pos..].IndexOf(quote);
            if (end < 0) throw XmlStreamException.NotWellFormed("Unterminated attribute value");
            var value = unit.Slice(pos, end);
            if (value.Contains((byte)'<')) throw XmlStreamException.NotWellFormed("'<' in an attribute value");
            pos += end + 1;
            return value;
        }

        private static bool IsNamespaceDeclaration(ReadOnlySpan<byte> unit, RawAttribute a)
        {
            var name = unit.Slice(a.NameStart, a.NameLength);
            return a.Colon < 0 ? name.SequenceEqual("xmlns"u8) : name[..a.Colon].SequenceEqual("xmlns"u8);
        }

        /// <summary>Applies xmlns / xmlns:p (Namespaces in XML 1.0 §3) for the element being read.</summary>
        private void DeclareIfNamespace(ReadOnlySpan<byte> unit, RawAttribute a, int tagBindingsStart)
        {
            if (!IsNamespaceDeclaration(unit, a)) return;
            var value = unit.Slice(a.ValueStart, a.ValueLength);
            string uri = TextDecoder.IsPlain(value, TextKind.Attribute) ? _names.Get(value) : _decoder.DecodeAttributeValue(value);
            string prefix = a.Colon < 0 ? "" : _names.Get(unit.Slice(a.NameStart + a.Colon + 1, a.NameLength - a.Colon - 1));
            // Namespaces in XML 1.0 §3: "xmlns" is never declared, "xml" only to its own URI, and no prefix (nor
            // the default) may be bound to the "xmlns" namespace name; §5 (1.0): a prefix cannot be undeclared.
            if (prefix == "xmlns" || (prefix == "xml") != (uri == Namespaces.Xml) || uri == XmlnsNamespace || (prefix.Length > 0 && uri.Length == 0))
            {
                throw XmlStreamException.NotWellFormed("Illegal namespace declaration");
            }
            for (int i = tagBindingsStart; i < _bindings.Count; i++)
            {
                if (_bindings[i].Prefix == prefix) throw XmlStreamException.NotWellFormed("Duplicate namespace declaration");
            }
            _bindings.Add(new Binding(prefix, uri));
        }

        private string ResolveLocal(ReadOnlySpan<byte> unit, int qStart, int qLength, int colon) =>
            _names.Get(colon < 0 ? unit.Slice(qStart, qLength) : unit.Slice(qStart + colon + 1, qLength - colon - 1));

        private string ResolveElementNamespace(ReadOnlySpan<byte> unit, int qStart, int colon)
        {
            if (colon < 0) return LookupPrefix("") ?? "";
            string prefix = _names.Get(unit.Slice(qStart, colon));
            return LookupPrefix(prefix) ?? throw UndeclaredPrefix(prefix);
        }

        /// <summary>Prosody's util.xmppstream naming: "name", "xml:lang", or "uri\u0001name".</summary>
        private string ResolveAttributeName(ReadOnlySpan<byte> unit, RawAttribute a)
        {
            var qname = unit.Slice(a.NameStart, a.NameLength);
            if (a.Colon < 0) return _names.Get(qname);
            var prefixBytes = qname[..a.Colon];
            if (prefixBytes.SequenceEqual("xml"u8)) return _names.Get(qname);
            string prefix = _names.Get(prefixBytes);
            string uri = LookupPrefix(prefix) ?? throw UndeclaredPrefix(prefix);
            return string.Concat(uri, "\u0001", _names.Get(qname[(a.Colon + 1)..]));
        }

        private string? LookupPrefix(string prefix)
        {
            for (int i = _bindings.Count - 1; i >= 0; i--)
            {
                if (_bindings[i].Prefix == prefix) return _bindings[i].Uri;
            }
            return null;
        }

        private static XmlStreamException UndeclaredPrefix(string prefix) =>
            new(StreamErrorCondition.BadNamespacePrefix, $"Undeclared namespace prefix '{prefix}'");

        /// <summary>Reads a qualified name (Namespaces in XML 1.0 §4): at most one colon, not at either end.</summary>
        private void ReadQName(ReadOnlySpan<byte> unit, ref int pos, out int start, out int length, out int colon)
        {
            start = pos;
            colon = -1;
            if (pos >= unit.Length || !IsNameStart(unit[pos])) throw XmlStreamException.NotWellFormed("Invalid name");
            pos++;
            while (pos < unit.Length && IsNameByte(unit[pos]))
            {
                if (unit[pos] == (byte)':')
                {
                    if (colon >= 0) throw XmlStreamException.NotWellFormed("Invalid qualified name");
                    colon = pos - start;
                }
                pos++;
            }
            length = pos - start;
            if (length > limits.MaxNameLength)
            {
                throw new XmlStreamException(StreamErrorCondition.PolicyViolation, $"Name longer than {limits.MaxNameLength} bytes");
            }
            if (colon == length - 1) throw XmlStreamException.NotWellFormed("Invalid qualified name");
            var name = unit.Slice(start, length);
            if (name.IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0)
            {
                if (!Utf8.IsValid(name)) throw XmlStreamException.NotWellFormed("Invalid UTF-8");
                if (!IsPortableName(name)) throw XmlStreamException.NotWellFormed("Invalid name character");
            }
        }

        /// <summary>
        /// A non-ASCII name must use only characters that every recipient's parser accepts: the
        /// XML 1.0 fourth-edition name classes (Appendix B), which expat (Prosody, slixmpp, Gajim)
        /// and .NET enforce. The fifth edition allows far more (§2.3, e.g. U+0718 or anything above
        /// U+FFFF); a server that let such a name through would forward a stanza that breaks its
        /// recipient's stream — a way to knock any contact offline, again at each login when the
        /// message sits in offline storage or the archive. XmlConvert's NCName tests are exactly
        /// expat's classes over the BMP (checked code point by code point).
        /// </summary>
        private static bool IsPortableName(ReadOnlySpan<byte> name)
        {
            bool start = true;
            while (!name.IsEmpty)
            {
                Rune.DecodeFromUtf8(name, out var rune, out int used);
                name = name[used..];
                if (rune.Value == ':')
                {
                    start = true;
                    continue;
                }
                if (!rune.IsBmp) return false;
                char c = (char)rune.Value;
                if (!(start ? System.Xml.XmlConvert.IsStartNCNameChar(c) : System.Xml.XmlConvert.IsNCNameChar(c))) return false;
                start = false;
            }
            return true;
        }

        /// <summary>XML 1.0 §2.3 NameStartChar for ASCII; a non-ASCII byte passes here and its character is checked by <see cref="IsPortableName"/>.</summary>
        internal static bool IsNameStart(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || b == (byte)'_' || b >= 0x80;

        private static bool IsNameByte(byte b) =>
            IsNameStart(b) || (uint)(b - '0') <= 9 || b == (byte)'-' || b == (byte)'.' || b == (byte)':';

        internal static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

        /// <summary>Skips XML whitespace; returns true if there was any.</summary>
        private static bool SkipWhitespace(ReadOnlySpan<byte> unit, ref int pos)
        {
            int start = pos;
            while (pos < unit.Length && IsWhitespace(unit[pos])) pos++;
            return pos > start;
        }

        private static void Expect(ReadOnlySpan<byte> unit, ref int pos, byte expected)
        {
            if (pos >= unit.Length || unit[pos] != expected) throw XmlStreamException.NotWellFormed($"Expected '{(char)expected}'");
            pos++;
        }
    }
}
