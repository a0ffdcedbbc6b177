using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace LuaXmpp.Xml;

public sealed partial class XmlStreamParser
{
    private enum TextKind { Text, Attribute, Cdata }

    /// <summary>
    /// Turns raw character data into a string exactly once: UTF-8 validation (overlong forms, surrogates
    /// and truncated sequences are errors), XML 1.0 Char checks (§2.2), line-end normalisation (§2.11),
    /// attribute-value normalisation (§3.3.3) and references — the five predefined entities and character
    /// references only, since RFC 6120 §11.1 forbids any other entity.
    /// </summary>
    private sealed class TextDecoder
    {
        // Bytes that need more than a straight UTF-8 decode: control characters (and CR, normalised), '&',
        // and 0xEF, the lead byte of U+FFFE/U+FFFF which XML forbids. Attribute values also normalise
        // tab and line feed to spaces.
        private static readonly SearchValues<byte> s_textSpecial = SearchValues.Create(Specials("&\r", except: "\t\n"));
        private static readonly SearchValues<byte> s_cdataSpecial = SearchValues.Create(Specials("\r", except: "\t\n"));
        private static readonly SearchValues<byte> s_attributeSpecial = SearchValues.Create(Specials("&\r\t\n", except: ""));

        /// <summary>True when <paramref name="raw"/> decodes to itself (apart from UTF-8 validation).</summary>
        public static bool IsPlain(ReadOnlySpan<byte> raw, TextKind kind) => raw.IndexOfAny(SpecialsFor(kind)) < 0;

        public string Decode(ReadOnlySpan<byte> raw, TextKind kind)
        {
            if (raw.IsEmpty) return "";
            if (!Utf8.IsValid(raw)) throw XmlStreamException.NotWellFormed("Invalid UTF-8");
            return IsPlain(raw, kind) ? Encoding.UTF8.GetString(raw) : DecodeSlow(raw, kind);
        }

        /// <summary>An attribute value; common ones ("chat", "get", "en"...) come back interned.</summary>
        public string DecodeAttributeValue(ReadOnlySpan<byte> raw) =>
            NameTable.GetWellKnown(raw) ?? Decode(raw, TextKind.Attribute);

        private static SearchValues<byte> SpecialsFor(TextKind kind) => kind switch
        {
            TextKind.Text => s_textSpecial,
            TextKind.Attribute => s_attributeSpecial,
            _ => s_cdataSpecial,
        };

        private static byte[] Specials(string include, string except)
        {
            var bytes = new List<byte> { 0xEF };
            for (int b = 0; b < 0x20; b++)
            {
                if (!except.Contains((char)b)) bytes.Add((byte)b);
            }
            foreach (char c in include) bytes.Add((byte)c);
            return bytes.Distinct().ToArray();
        }

        /// <summary>Decodes into a pooled buffer and rewrites it in place: every rewrite shrinks or keeps length.</summary>
        private static string DecodeSlow(ReadOnlySpan<byte> raw, TextKind kind)
        {
            char[] buffer = ArrayPool<char>.Shared.Rent(raw.Length);
            try
            {
                int length = Encoding.UTF8.GetChars(raw, buffer);
                int written = Rewrite(buffer.AsSpan(0, length), kind);
                return new string(buffer, 0, written);
            }
            finally
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }

        private static int Rewrite(Span<char> chars, TextKind kind)
        {
            int w = 0;
            int r = 0;
            while (r < chars.Length)
            {
                char c = chars[r++];
                if (c == '&' && kind != TextKind.Cdata)
                {
                    r = ReadReference(chars, r, ref w);
                    continue;
                }
                if (c == '\r')
                {
                    // §2.11: CR LF and lone CR become LF (which an attribute value then turns into a space).
                    if (r < chars.Length && chars[r] == '\n') r++;
                    c = '\n';
                }
                else if (c < 0x20 && c != '\t' && c != '\n') throw XmlStreamException.NotWellFormed("Control character in character data");
                else if (c >= '\uFFFE') throw XmlStreamException.NotWellFormed("Character not allowed in XML");
                if (kind == TextKind.Attribute && c is '\t' or '\n') c = ' ';
                chars[w++] = c;
            }
            return w;
        }

        /// <summary>Reads a reference after its '&amp;' at <paramref name="r"/>, writes its character(s), returns the index after ';'.</summary>
        private static int ReadReference(Span<char> chars, int r, ref int w)
        {
            int end = chars[r..].IndexOf(';');
            if (end <= 0) throw XmlStreamException.NotWellFormed("Malformed reference");
            var name = chars.Slice(r, end);
            char single = name switch
            {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "apos" => '\'',
                "quot" => '"',
                _ => '\0',
            };
            if (single != '\0') chars[w++] = single;
            else if (name[0] == '#') WriteCharacterReference(chars, name[1..], ref w);
            else if (IsEntityName(name)) throw new XmlStreamException(StreamErrorCondition.RestrictedXml, "Entity references other than the predefined ones are not allowed in XMPP (RFC 6120 §11.1)");
            else throw XmlStreamException.NotWellFormed("Malformed reference");
            return r + end + 1;
        }

        /// <summary>&amp;#N; or &amp;#xH; (XML 1.0 §4.1): must name a legal Char.</summary>
        private static void WriteCharacterReference(Span<char> chars, ReadOnlySpan<char> digits, ref int w)
        {
            bool hex = digits.Length > 0 && digits[0] == 'x';
            if (hex) digits = digits[1..];
            if (digits.IsEmpty || digits.Length > 8) throw XmlStreamException.NotWellFormed("Malformed character reference");
            int value = 0;
            foreach (char d in digits)
            {
                int digit = d is >= '0' and <= '9' ? d - '0'
                    : hex && (d | 0x20) is >= 'a' and <= 'f' ? (d | 0x20) - 'a' + 10
                    : throw XmlStreamException.NotWellFormed("Malformed character reference");
                value = value * (hex ? 16 : 10) + digit;
            }
            bool legal = value is 0x9 or 0xA or 0xD or (>= 0x20 and <= 0xD7FF) or (>= 0xE000 and <= 0xFFFD) or (>= 0x10000 and <= 0x10FFFF);
            if (!legal) throw XmlStreamException.NotWellFormed("Character reference to a character not allowed in XML");
            w += new Rune(value).EncodeToUtf16(chars[w..]);
        }

        private static bool IsEntityName(ReadOnlySpan<char> name)
        {
            foreach (char c in name)
            {
                if (!(char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or ':')) return false;
            }
            return true;
        }
    }
}
