using System.Globalization;
using System.Text;

namespace LuaXmpp.Xmpp;

/// <summary>
/// String preparation of JID parts: nodeprep, nameprep and resourceprep (RFC 3920/6122 profiles,
/// as Prosody's util.encodings.stringprep applies them). Each returns null for input the profile
/// rejects. Parts are limited to 1023 bytes of UTF-8 (RFC 7622 §3).
/// </summary>
public static class JidPrep
{
    public const int MaxPartBytes = 1023;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = true, UseStd3AsciiRules = false };

    public static string? Nodeprep(string s)
    {
        var p = Fold(s);
        if (p is null || p.Length == 0) return null;
        foreach (char c in p)
        {
            // RFC 6122 Appendix A.5: these are prohibited in localparts.
            if (c is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@' || char.IsWhiteSpace(c)) return null;
        }
        return Fits(p) ? p : null;
    }

    public static string? Nameprep(string s)
    {
        if (s.EndsWith('.')) s = s[..^1];
        var p = Fold(s);
        if (p is null || p.Length == 0) return null;
        if (p[0] == '[' && p[^1] == ']') return Fits(p) ? p : null; // IPv6 literal
        foreach (char c in p)
        {
            if (c is '@' or '/' || char.IsWhiteSpace(c) || c < 0x20) return null;
        }
        try
        {
            // Round-trip through IDNA to reject what cannot be a domain label.
            Idn.GetAscii(p);
        }
        catch (ArgumentException)
        {
            return null;
        }
        return Fits(p) ? p : null;
    }

    public static string? Resourceprep(string s)
    {
        if (s.Length == 0) return null;
        string p;
        try
        {
            p = s.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return null;
        }
        foreach (char c in p)
        {
            if (char.IsControl(c)) return null;
        }
        return Fits(p) ? p : null;
    }

    private static string? Fold(string s)
    {
        try
        {
            var n = s.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
            foreach (char c in n)
            {
                if (char.IsControl(c)) return null;
            }
            return n;
        }
        catch (ArgumentException)
        {
            return null; // unpaired surrogate
        }
    }

    private static bool Fits(string s) => Encoding.UTF8.GetByteCount(s) <= MaxPartBytes;
}
