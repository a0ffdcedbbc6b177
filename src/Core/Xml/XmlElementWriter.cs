using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace LuaXmpp.Xml;

/// <summary>
/// Serializes element trees. Inside a stream, elements in the stream's default namespace are
/// written without xmlns; elements in the streams namespace use the "stream:" prefix the stream
/// header declared; any other namespace change is declared with xmlns on the element.
/// </summary>
/// <remarks>Writes UTF-8 straight into the output buffer (a connection's pipe), without building a string.</remarks>
public static class XmlElementWriter
{
    // XML 1.0 §3.3.3 normalises tab, LF and CR in attribute values to spaces and §2.11 turns CR
    // in text into LF, so they are written as character references to survive a round trip.
    private static readonly SearchValues<char> s_attributeEscapes = SearchValues.Create("<>&'\"\t\n\r");
    private static readonly SearchValues<char> s_textEscapes = SearchValues.Create("<>&\r");

    /// <summary>The element as text, declaring its namespace unless it equals <paramref name="contextNamespace"/>.</summary>
    public static string ToXmlString(XmlElement element, string? contextNamespace = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, element, contextNamespace ?? "");
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the element as UTF-8 into a pipe or buffer.</summary>
    public static void Write(IBufferWriter<byte> output, XmlElement element, string contextNamespace) =>
        Write(output, element, contextNamespace, null);

    /// <summary>
    /// Writes the element as if <paramref name="lastChild"/> were appended to it, without changing
    /// or copying it (the XEP-0198 queue stores each stanza with its delay stamp this way).
    /// </summary>
    public static void Write(IBufferWriter<byte> output, XmlElement element, string contextNamespace, XmlElement? lastChild)
    {
        var sink = new Utf8Sink(output);
        WriteElement(ref sink, element, contextNamespace, lastChild);
        sink.Flush();
    }

    private static void WriteElement(ref Utf8Sink sink, XmlElement e, string parentNs, XmlElement? lastChild = null)
    {
        bool streamPrefixed = e.Namespace == Namespaces.Streams;
        sink.WriteByte((byte)'<');
        WriteQName(ref sink, e.Name, streamPrefixed);
        if (!streamPrefixed && e.Namespace != parentNs)
        {
            sink.WriteRaw(" xmlns='"u8);
            sink.WriteEscaped(e.Namespace, s_attributeEscapes);
            sink.WriteByte((byte)'\'');
        }
        WriteAttributes(ref sink, e.Attributes);
        if (e.Children.Count == 0 && lastChild is null)
        {
            sink.WriteRaw("/>"u8);
            return;
        }
        sink.WriteByte((byte)'>');
        string childContext = streamPrefixed ? parentNs : e.Namespace;
        foreach (var c in e.Children)
        {
            if (c is XmlElement child) WriteElement(ref sink, child, childContext);
            else if (c is XmlText t) sink.WriteEscaped(t.Value, s_textEscapes);
        }
        if (lastChild is not null) WriteElement(ref sink, lastChild, childContext);
        sink.WriteRaw("</"u8);
        WriteQName(ref sink, e.Name, streamPrefixed);
        sink.WriteByte((byte)'>');
    }

    private static void WriteQName(ref Utf8Sink sink, string name, bool streamPrefixed)
    {
        if (streamPrefixed) sink.WriteRaw("stream:"u8);
        sink.WriteChars(name);
    }

    private static void WriteAttributes(ref Utf8Sink sink, List<XmlAttribute> attributes)
    {
        int prefixCounter = 0;
        foreach (var a in attributes)
        {
            int sep = a.Name.IndexOf(XmlAttribute.NamespaceSeparator);
            sink.WriteByte((byte)' ');
            if (sep >= 0)
            {
                // A namespaced attribute ("uri\u0001local"): declare a prefix for it on this element.
                int prefix = ++prefixCounter;
                sink.WriteRaw("xmlns:ns"u8);
                sink.WriteInt(prefix);
                sink.WriteRaw("='"u8);
                sink.WriteEscaped(a.Name.AsSpan(0, sep), s_attributeEscapes);
                sink.WriteRaw("' ns"u8);
                sink.WriteInt(prefix);
                sink.WriteByte((byte)':');
                sink.WriteChars(a.Name.AsSpan(sep + 1));
            }
            else sink.WriteChars(a.Name);
            sink.WriteRaw("='"u8);
            sink.WriteEscaped(a.Value, s_attributeEscapes);
            sink.WriteByte((byte)'\'');
        }
    }

    /// <summary>Appends UTF-8 to an <see cref="IBufferWriter{T}"/>, advancing it only when a span fills up.</summary>
    private ref struct Utf8Sink(IBufferWriter<byte> output)
    {
        private Span<byte> _span = output.GetSpan(256);
        private int _pos;

        public void WriteByte(byte b)
        {
            if (_pos == _span.Length) Grow(1);
            _span[_pos++] = b;
        }

        public void WriteRaw(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > _span.Length - _pos) Grow(bytes.Length);
            bytes.CopyTo(_span[_pos..]);
            _pos += bytes.Length;
        }

        public void WriteInt(int value)
        {
            if (_span.Length - _pos < 11) Grow(11);
            value.TryFormat(_span[_pos..], out int written);
            _pos += written;
        }

        /// <summary>Transcodes UTF-16 to UTF-8; ill-formed surrogates become U+FFFD, as Encoding.UTF8 does.</summary>
        public void WriteChars(ReadOnlySpan<char> chars)
        {
            while (true)
            {
                var status = Utf8.FromUtf16(chars, _span[_pos..], out int read, out int written, replaceInvalidSequences: true);
                _pos += written;
                if (status == OperationStatus.Done) return;
                chars = chars[read..];
                Grow(Math.Min(chars.Length * 3, 4096));
            }
        }

        public void WriteEscaped(ReadOnlySpan<char> text, SearchValues<char> escapes)
        {
            while (true)
            {
                int i = text.IndexOfAny(escapes);
                if (i < 0)
                {
                    WriteChars(text);
                    return;
                }
                WriteChars(text[..i]);
                WriteRaw(text[i] switch
                {
                    '<' => "&lt;"u8,
                    '>' => "&gt;"u8,
                    '&' => "&amp;"u8,
                    '\'' => "&apos;"u8,
                    '"' => "&quot;"u8,
                    '\t' => "&#9;"u8,
                    '\n' => "&#10;"u8,
                    _ => "&#13;"u8,
                });
                text = text[(i + 1)..];
            }
        }

        public readonly void Flush() => output.Advance(_pos);

        private void Grow(int sizeHint)
        {
            output.Advance(_pos);
            _pos = 0;
            _span = output.GetSpan(Math.Max(sizeHint, 256));
        }
    }
}
