using System.Text;
using System.Xml;

namespace LuaXmpp.LuaBridge.Libraries.Xml;

/// <summary>
/// Splits XML bytes into tokens without keeping state between calls: <see cref="Scan"/> returns
/// the complete tokens at the start of the buffer and how many bytes they used; the caller keeps
/// the rest and offers it again with the next bytes. A token split anywhere (inside a tag, an
/// attribute value, a character reference or a multi-byte UTF-8 sequence) is simply not complete
/// yet. Text is reported only once the following '&lt;' has arrived, so an entity is never cut.
/// </summary>
/// <remarks>
/// Well-formedness checked here (XML 1.0 §2): UTF-8, names, quoted attribute values without '&lt;',
/// unique attribute names, entity and character references. Nesting is the caller's business.
/// </remarks>
internal static class XmlTokenScanner
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Tokens found at the start of <paramref name="data"/> and the bytes they used; an error token ends the list.</summary>
    public static (List<XmlToken> Tokens, int Consumed) Scan(ReadOnlySpan<byte> data)
    {
        var tokens = new List<XmlToken>();
        int pos = 0;
        while (pos < data.Length)
        {
            int used;
            XmlToken? token;
            try
            {
                token = data[pos] == (byte)'<' ? ReadMarkup(data[pos..], out used) : ReadText(data[pos..], out used);
            }
            catch (Exception e) when (e is XmlException or DecoderFallbackException or ArgumentException or FormatException or OverflowException)
            {
                tokens.Add(new XmlToken(XmlTokenKind.Error, "not well-formed (invalid token)") { End = pos });
                return (tokens, pos);
            }
            if (token is null) break;
            pos += used;
            tokens.Add(token with { End = pos });
            if (token.Kind == XmlTokenKind.Error) break;
        }
        return (tokens, pos);
    }

    private static XmlToken? ReadText(ReadOnlySpan<byte> data, out int used)
    {
        used = data.IndexOf((byte)'<');
        if (used < 0) return null;
        return new XmlToken(XmlTokenKind.Text, DecodeText(data[..used], inAttribute: false));
    }

    private static XmlToken? ReadMarkup(ReadOnlySpan<byte> data, out int used)
    {
        used = 0;
        if (data.Length < 2) return null;
        return data[1] switch
        {
            (byte)'!' => ReadBang(data, out used),
            (byte)'?' => ReadQuestion(data, out used),
            (byte)'/' => ReadEndTag(data, out used),
            _ => ReadStartTag(data, out used),
        };
    }

    private static XmlToken? ReadBang(ReadOnlySpan<byte> data, out int used)
    {
        used = 0;
        if (StartsWithOrPrefix(data, "<!--"u8, out bool comment) && comment)
        {
            int end = data[4..].IndexOf("-->"u8);
            if (end < 0) return null;
            used = 4 + end + 3;
            return new XmlToken(XmlTokenKind.Comment, Utf8(data[4..(4 + end)]));
        }
        if (StartsWithOrPrefix(data, "<![CDATA["u8, out bool cdata) && cdata)
        {
            int end = data[9..].IndexOf("]]>"u8);
            if (end < 0) return null;
            used = 9 + end + 3;
            return new XmlToken(XmlTokenKind.CData, Utf8(data[9..(9 + end)]));
        }
        if (data.Length < 9) return null; // could still become a comment or CDATA
        // Anything else after "<!" is a DOCTYPE or declaration; callers refuse it (RFC 6120 §11.1).
        int close = data.IndexOf((byte)'>');
        if (close < 0) return null;
        used = close + 1;
        return new XmlToken(XmlTokenKind.Doctype, Utf8(data[2..close]));
    }

    private static bool StartsWithOrPrefix(ReadOnlySpan<byte> data, ReadOnlySpan<byte> marker, out bool complete)
    {
        int n = Math.Min(data.Length, marker.Length);
        complete = n == marker.Length;
        return data[..n].SequenceEqual(marker[..n]);
    }

    private static XmlToken? ReadQuestion(ReadOnlySpan<byte> data, out int used)
    {
        used = 0;
        int end = data.IndexOf("?>"u8);
        if (end < 0) return null;
        used = end + 2;
        var body = Utf8(data[2..end]);
        int space = body.IndexOfAny([' ', '\t', '\r', '\n']);
        var target = space < 0 ? body : body[..space];
        XmlConvert.VerifyName(target);
        if (target == "xml")
        {
            var pseudo = Encoding.UTF8.GetBytes(body[3..]);
            return new XmlToken(XmlTokenKind.Declaration, "xml", ReadAttributes(pseudo, out _));
        }
        if (target.Equals("xml", StringComparison.OrdinalIgnoreCase)) throw new XmlException("reserved PI target");
        return new XmlToken(XmlTokenKind.ProcessingInstruction, target,
            [KeyValuePair.Create("data", space < 0 ? "" : body[(space + 1)..].TrimStart())]);
    }

    private static XmlToken? ReadEndTag(ReadOnlySpan<byte> data, out int used)
    {
        used = 0;
        int close = data.IndexOf((byte)'>');
        if (close < 0) return null;
        used = close + 1;
        var name = Utf8(data[2..close]).TrimEnd(' ', '\t', '\r', '\n');
        XmlConvert.VerifyName(name);
        return new XmlToken(XmlTokenKind.EndTag, name);
    }

    private static XmlToken? ReadStartTag(ReadOnlySpan<byte> data, out int used)
    {
        used = 0;
        int close = FindTagEnd(data);
        if (close < 0) return null;
        used = close + 1;
        bool selfClosing = data[close - 1] == (byte)'/';
        var inner = data[1..(selfClosing ? close - 1 : close)];
        int nameEnd = inner.IndexOfAny(" \t\r\n"u8);
        if (nameEnd < 0) nameEnd = inner.Length;
        var name = Utf8(inner[..nameEnd]);
        XmlConvert.VerifyName(name);
        var attributes = ReadAttributes(inner[nameEnd..], out _);
        return new XmlToken(XmlTokenKind.StartTag, name, attributes, selfClosing);
    }

    // The index of the '>' that ends a tag, skipping quoted attribute values; -1 if not arrived.
    private static int FindTagEnd(ReadOnlySpan<byte> data)
    {
        byte quote = 0;
        for (int i = 1; i < data.Length; i++)
        {
            byte b = data[i];
            if (quote != 0)
            {
                if (b == quote) quote = 0;
                else if (b == (byte)'<') throw new XmlException("'<' in attribute value");
            }
            else if (b is (byte)'"' or (byte)'\'') quote = b;
            else if (b == (byte)'>') return i;
            else if (b == (byte)'<') throw new XmlException("'<' in tag");
        }
        return -1;
    }

    private static List<KeyValuePair<string, string>> ReadAttributes(ReadOnlySpan<byte> raw, out int count)
    {
        var list = new List<KeyValuePair<string, string>>();
        int i = 0;
        while (true)
        {
            int start = i;
            while (i < raw.Length && IsSpace(raw[i])) i++;
            if (i >= raw.Length) break;
            if (i == start) throw new XmlException("attributes must be separated by whitespace");
            int eq = raw[i..].IndexOf((byte)'=');
            if (eq < 0) throw new XmlException("attribute without value");
            var name = Utf8(raw[i..(i + eq)]).TrimEnd(' ', '\t', '\r', '\n');
            XmlConvert.VerifyName(name);
            i += eq + 1;
            while (i < raw.Length && IsSpace(raw[i])) i++;
            if (i >= raw.Length || raw[i] is not ((byte)'"' or (byte)'\'')) throw new XmlException("unquoted attribute value");
            byte quote = raw[i];
            int end = raw[(i + 1)..].IndexOf(quote);
            if (end < 0) throw new XmlException("unterminated attribute value");
            var value = DecodeText(raw[(i + 1)..(i + 1 + end)], inAttribute: true);
            if (list.Exists(a => a.Key == name)) throw new XmlException("duplicate attribute " + name);
            list.Add(KeyValuePair.Create(name, value));
            i += end + 2;
        }
        count = list.Count;
        return list;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    // Decodes strictly and refuses the control characters XML 1.0 §2.2 leaves out of Char.
    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b < 0x20 && b is not (0x9 or 0xA or 0xD)) throw new XmlException("control character");
        }
        return StrictUtf8.GetString(bytes);
    }

    // Replaces the five predefined entities and character references (XML 1.0 §4.1, §4.6);
    // attribute values also get their whitespace normalised (§3.3.3).
    private static string DecodeText(ReadOnlySpan<byte> raw, bool inAttribute)
    {
        var text = Utf8(raw);
        if (text.IndexOf('&') < 0 && !(inAttribute && text.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '&')
            {
                int semi = text.IndexOf(';', i + 1);
                if (semi < 0) throw new XmlException("unterminated entity reference");
                sb.Append(Entity(text[(i + 1)..semi]));
                i = semi;
            }
            else if (inAttribute && c is '\t' or '\n' or '\r') sb.Append(' ');
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static string Entity(string name)
    {
        switch (name)
        {
            case "amp": return "&";
            case "lt": return "<";
            case "gt": return ">";
            case "quot": return "\"";
            case "apos": return "'";
        }
        if (name.Length < 2 || name[0] != '#') throw new XmlException("undefined entity " + name);
        int code = name[1] == 'x'
            ? int.Parse(name.AsSpan(2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture)
            : int.Parse(name.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
        // Char production (XML 1.0 §2.2).
        bool allowed = code is 0x9 or 0xA or 0xD or (>= 0x20 and <= 0xD7FF) or (>= 0xE000 and <= 0xFFFD) or (>= 0x10000 and <= 0x10FFFF);
        if (!allowed) throw new XmlException("reference to invalid character");
        return char.ConvertFromUtf32(code);
    }
}
