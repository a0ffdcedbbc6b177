using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LuaXmpp.Xmpp;

/// <summary>
/// String preparation of JID parts: nodeprep and resourceprep (RFC 3920 appendices A and B),
/// nameprep (RFC 3491) and SASLprep (RFC 4013), the stringprep (RFC 3454) profiles Prosody's
/// util.encodings.stringprep applies. Each returns null for input the profile rejects; parts are
/// limited to 1023 bytes of UTF-8 (RFC 7622 §3). <c>strict</c> rejects code points unassigned in
/// Unicode 3.2 (stringprep's rule for stored strings); without it they pass (queries).
/// </summary>
/// <remarks>
/// .NET ships no stringprep tables. The prohibited classes, B.1 and D.1 are typed from RFC 3454
/// (JidPrep.Tables.cs); A.1 and D.2 are generated from the Unicode 3.2 database
/// (JidPrep.Unicode32.cs). B.2 case folding is lower(upper(c)) with .NET's invariant mappings,
/// plus the full foldings that differ (ß and ẞ → ss, İ → i̇, Greek iota subscript → separate ι),
/// and a second fold after NFKC yields B.2's NFKC-closure entries (℃ → °c). Checked against
/// RFC 3454's tables for every code point assigned in Unicode 3.2 below U+30000, single
/// characters agree, except where .NET's newer NFKC differs from 3.2's:
/// <list type="bullet">
/// <item>five CJK compatibility ideographs (U+2F868, U+2F874, U+2F91F, U+2F95F, U+2F9BF) whose
/// decompositions Unicode corrected after 3.2;</item>
/// <item>without <c>strict</c>, code points unassigned in 3.2 are case-folded and normalized
/// by today's Unicode data instead of passing through unchanged.</item>
/// </list>
/// </remarks>
public static partial class JidPrep
{
    public const int MaxPartBytes = 1023;

    /// <summary>An IDNA label's limit in octets of its ASCII form (RFC 5890 §2.3.2.1).</summary>
    public const int MaxLabelBytes = 63;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = true, UseStd3AsciiRules = false };

    public static string? Nodeprep(string s) => Nodeprep(s, strict: false);

    /// <summary>Nodeprep (RFC 3920 appendix A): B.1, B.2, NFKC, prohibits C.1–C.9 and "&amp;'/:&lt;&gt;@.</summary>
    public static string? Nodeprep(string s, bool strict) => Limit(Prepare(s, Profile.Nodeprep, strict));

    public static string? Resourceprep(string s) => Resourceprep(s, strict: false);

    /// <summary>Resourceprep (RFC 3920 appendix B): B.1, NFKC, prohibits C.1.2–C.9; case and ASCII space kept.</summary>
    public static string? Resourceprep(string s, bool strict) => Limit(Prepare(s, Profile.Resourceprep, strict));

    public static string? Saslprep(string s) => Saslprep(s, strict: false);

    /// <summary>SASLprep (RFC 4013): non-ASCII spaces become U+0020, B.1, NFKC, prohibits C.1.2–C.9.</summary>
    public static string? Saslprep(string s, bool strict) => Prepare(s, Profile.Saslprep, strict);

    public static string? Nameprep(string s) => Nameprep(s, strict: false);

    /// <summary>
    /// Nameprep (RFC 3491) of a whole domainpart, plus the label rules of RFC 7622 §3.2: a
    /// trailing root dot is dropped; IPv4 and bracketed IPv6 literals are kept; labels must be
    /// non-empty and at most 63 octets in their ASCII form; ASCII labels hold letters, digits and
    /// inner hyphens; "xn--" labels must decode as IDNA.
    /// </summary>
    public static string? Nameprep(string s, bool strict)
    {
        if (s.EndsWith('.')) s = s[..^1];
        if (s.Length == 0) return null;
        if (s[0] == '[') return IsIPv6Literal(s) ? Limit(s.ToLowerInvariant()) : null;
        if (IsIPv4Literal(s)) return s;
        var p = Prepare(s, Profile.Nameprep, strict);
        if (p is null) return null;
        // IDNA label separators (RFC 3490 §3.1); NFKC has already turned U+FF0E and U+FF61 into these.
        p = p.Replace('\u3002', '.');
        foreach (var label in p.Split('.'))
        {
            if (!IsValidLabel(label)) return null;
        }
        return Limit(p);
    }

    private static string? Limit(string? p) =>
        p is not null && p.Length > 0 && Encoding.UTF8.GetByteCount(p) <= MaxPartBytes ? p : null;

    private static bool IsValidLabel(string label)
    {
        if (label.Length == 0) return false;
        if (!Ascii.IsValid(label)) return IsValidUnicodeLabel(label);
        if (label.Length > MaxLabelBytes || label[0] == '-' || label[^1] == '-') return false;
        foreach (char c in label)
        {
            // COMPAT: '_' is outside STD3 but appears in real component hostnames and Prosody accepts it.
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_')) return false;
        }
        if (label.StartsWith("xn--", StringComparison.Ordinal)) return IsValidAceLabel(label);
        return true;
    }

    private static bool IsValidAceLabel(string label)
    {
        try
        {
            Idn.GetUnicode(label);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsValidUnicodeLabel(string label)
    {
        try
        {
            return Idn.GetAscii(label).Length <= MaxLabelBytes;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsIPv4Literal(string s)
    {
        if (s.Count(c => c == '.') != 3) return false;
        foreach (char c in s)
        {
            if (c != '.' && !char.IsAsciiDigit(c)) return false;
        }
        return IPAddress.TryParse(s, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork;
    }

    /// <summary>RFC 7622 §3.2: an IPv6 address in square brackets (RFC 3986 IP-literal).</summary>
    private static bool IsIPv6Literal(string s) =>
        s.Length > 2 && s[^1] == ']'
        && IPAddress.TryParse(s.AsSpan(1, s.Length - 2), out var ip)
        && ip.AddressFamily == AddressFamily.InterNetworkV6
        && !s.Contains('%');
}
