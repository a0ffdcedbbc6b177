using System.Text;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// Turns seed transcripts into hostile inputs, deterministically from a <see cref="Random"/>: a stack of
/// one to four mutations, each aimed at a part of the parser (tag and quote tracking, references, UTF-8
/// validation, limits, stream restarts, split points).
/// </summary>
internal sealed class InputMutator(IReadOnlyList<byte[]> seeds, int maxInputBytes)
{
    private const int MutationCount = 15;

    /// <summary>Bytes that switch the parser's states, alone or in short runs.</summary>
    private static readonly byte[] s_special = "<>&'\";/]=?![-:#x \t\r\n"u8.ToArray();

    /// <summary>Fragments of XML and XMPP the parser treats specially.</summary>
    private static readonly byte[][] s_tokens = new[]
    {
        "<![CDATA[", "<![CDATA[x]]>", "]]>", "]]", "&#233;", "<!--", "-->", "<!DOCTYPE x>", "<?xml version='1.0'?>", "<?pi x?>", "&amp;", "&lt;", "&gt;",
        "&quot;", "&apos;", "&#9;", "&#10;", "&#13;", "&#xD;", "&#xA;", "&#x1F600;", "&#0;", "&#xD800;", "&#x110000;", "&#",
        "&nbsp;", "&", "xmlns='", "xmlns=''", "xmlns:p='urn:p'", "xmlns:xml='http://www.w3.org/XML/1998/namespace'",
        "xmlns:xmlns='u'", "xmlns:p='http://www.w3.org/2000/xmlns/'", "xml:lang='en'", "p:a='1'", "stream:", "</stream:stream>",
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", "</", "/>", "<a>", "</a>", "<a/>", "<a b='c'>",
        "\uFEFF", "\uFFFE", "\uFFFF", "\u0085", "\u2028", "😀", "é", "\r\n", "'", "\"", "=", "<x:y xmlns:x='u'>", "</x:y>",
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AA==</auth>", "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        "<r xmlns='urn:xmpp:sm:3'/>", "<a xmlns='urn:xmpp:sm:3' h='3'/>",
    }.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();

    /// <summary>Byte sequences that are not valid UTF-8 (or not XML characters), per RFC 3629 §3 and XML 1.0 §2.2.</summary>
    private static readonly byte[][] s_badUtf8 =
    [
        [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFE], [0xFF], [0xE2, 0x82],
        [0xF0, 0x9F, 0x98], [0xC3], [0xEF, 0xBF, 0xBE], [0xEF, 0xBF, 0xBF], [0x00], [0x01], [0x1F], [0x7F],
    ];

    public byte[] Mutate(byte[] seed, Random rng)
    {
        var data = new List<byte>(seed);
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            Apply(data, rng.Next(MutationCount), rng);
            if (data.Count > maxInputBytes) data.RemoveRange(maxInputBytes, data.Count - maxInputBytes);
        }
        return data.ToArray();
    }

    private void Apply(List<byte> d, int mutation, Random rng)
    {
        int Pos() => rng.Next(d.Count + 1);
        switch (mutation)
        {
            case 0: // flip bits
                for (int n = 1 + rng.Next(4); n > 0 && d.Count > 0; n--) d[rng.Next(d.Count)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1: // an XML-special byte, or a short run of them
                for (int n = 1 + (rng.Next(4) == 0 ? rng.Next(8) : 0); n > 0; n--) d.Insert(Pos(), s_special[rng.Next(s_special.Length)]);
                break;
            case 2: // a token
                d.InsertRange(Pos(), s_tokens[rng.Next(s_tokens.Length)]);
                break;
            case 3: // splice: this input up to a point, another seed from a point
                var other = seeds[rng.Next(seeds.Count)];
                int cut = Pos();
                d.RemoveRange(cut, d.Count - cut);
                d.AddRange(other.AsSpan(rng.Next(other.Length + 1)).ToArray());
                break;
            case 4: // truncate
                TrimTo(d, rng.Next(d.Count + 1));
                break;
            case 5: // delete a range
                if (d.Count > 0)
                {
                    int start = rng.Next(d.Count);
                    d.RemoveRange(start, Math.Min(d.Count - start, 1 + rng.Next(64)));
                }
                break;
            case 6: // duplicate a tag (or any markup-delimited range) many times
                DuplicateTag(d, rng);
                break;
            case 7: // deep nesting, balanced or not
                Nest(d, rng);
                break;
            case 8: // a huge attribute value or text
                Huge(d, rng);
                break;
            case 9: // invalid UTF-8 or a forbidden character
                d.InsertRange(Pos(), s_badUtf8[rng.Next(s_badUtf8.Length)]);
                break;
            case 10: // random bytes
                var noise = new byte[1 + rng.Next(rng.Next(3) == 0 ? 512 : 8)];
                rng.NextBytes(noise);
                d.InsertRange(Pos(), noise);
                break;
            case 11: // overwrite one byte
                if (d.Count > 0) d[rng.Next(d.Count)] = (byte)rng.Next(256);
                break;
            case 12: // swap a quote kind or an angle bracket for another special byte
                ReplaceSpecial(d, rng);
                break;
            case 13: // many copies of a token, e.g. alternating text and CDATA or references in one text run
                var token = s_tokens[rng.Next(s_tokens.Length)];
                var pair = new List<byte>();
                for (int c = Fit(1 + rng.Next(5_000), token.Length + 1); c > 0; c--)
                {
                    pair.Add((byte)'t');
                    pair.AddRange(token);
                }
                d.InsertRange(Pos(), pair);
                break;
            default: // repeat a short range many times (alternating text, CDATA, references...)
                RepeatRange(d, rng);
                break;
        }
    }

    private static void TrimTo(List<byte> d, int length)
    {
        if (length < d.Count) d.RemoveRange(length, d.Count - length);
    }

    /// <summary>How many copies of <paramref name="unit"/> bytes fit the input size bound (at least one).</summary>
    private int Fit(int copies, int unit) => Math.Max(1, Math.Min(copies, maxInputBytes / Math.Max(unit, 1)));

    private void DuplicateTag(List<byte> d, Random rng)
    {
        if (d.Count == 0) return;
        int lt = d.IndexOf((byte)'<', rng.Next(d.Count));
        if (lt < 0) return;
        int gt = d.IndexOf((byte)'>', lt);
        if (gt < 0) return;
        // Sometimes the tag alone, sometimes up to a later '>' (an element with its content).
        int end = gt;
        for (int extra = rng.Next(3); extra > 0; extra--)
        {
            int next = d.IndexOf((byte)'>', end + 1);
            if (next < 0) break;
            end = next;
        }
        var tag = d.GetRange(lt, end - lt + 1);
        int copies = Fit(1 + rng.Next(rng.Next(4) == 0 ? 2000 : 8), tag.Count);
        var run = new List<byte>(tag.Count * copies);
        for (int c = 0; c < copies; c++) run.AddRange(tag);
        d.InsertRange(end + 1, run);
    }

    private static void Nest(List<byte> d, Random rng)
    {
        int depth = 1 + rng.Next(rng.Next(4) == 0 ? 200 : 40);
        string name = rng.Next(2) == 0 ? "a" : "x:y xmlns:x='urn:x'";
        string close = name == "a" ? "</a>" : "</x:y>";
        var sb = new StringBuilder();
        for (int i = 0; i < depth; i++) sb.Append('<').Append(name).Append('>');
        sb.Append("text");
        int closes = rng.Next(3) == 0 ? rng.Next(depth + 1) : depth;
        for (int i = 0; i < closes; i++) sb.Append(close);
        d.InsertRange(rng.Next(d.Count + 1), Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static void Huge(List<byte> d, Random rng)
    {
        int size = rng.Next(4) switch { 0 => 9_000 + rng.Next(2_000), 1 => 262_000 + rng.Next(1_000), _ => rng.Next(70_000) };
        byte fill = rng.Next(3) switch { 0 => (byte)'a', 1 => (byte)' ', _ => (byte)rng.Next(0x20, 0x7F) };
        var run = new byte[size];
        Array.Fill(run, fill);
        int pos = rng.Next(d.Count + 1);
        if (rng.Next(2) == 0)
        {
            // An attribute: put it inside a start tag if one follows.
            int lt = d.IndexOf((byte)'<', pos);
            int nameEnd = lt < 0 ? -1 : d.FindIndex(lt, b => b is (byte)' ' or (byte)'>' or (byte)'/');
            if (nameEnd > 0)
            {
                d.InsertRange(nameEnd, [.. " huge='"u8, .. run, (byte)'\'']);
                return;
            }
        }
        d.InsertRange(pos, run);
    }

    private static void ReplaceSpecial(List<byte> d, Random rng)
    {
        if (d.Count == 0) return;
        int start = rng.Next(d.Count);
        int i = d.FindIndex(start, b => Array.IndexOf(s_special, b) >= 0);
        if (i >= 0) d[i] = s_special[rng.Next(s_special.Length)];
    }

    private void RepeatRange(List<byte> d, Random rng)
    {
        if (d.Count == 0) return;
        int start = rng.Next(d.Count);
        int length = Math.Min(d.Count - start, 1 + rng.Next(24));
        var range = d.GetRange(start, length);
        int copies = Fit(1 + rng.Next(rng.Next(3) == 0 ? 20_000 : 64), length);
        var run = new List<byte>(range.Count * copies);
        for (int c = 0; c < copies; c++) run.AddRange(range);
        d.InsertRange(start + length, run);
    }
}
