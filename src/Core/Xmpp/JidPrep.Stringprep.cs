using System.Text;

namespace LuaXmpp.Xmpp;

// The stringprep algorithm (RFC 3454 §3–§6) shared by the profiles.
public static partial class JidPrep
{
    /// <summary>How one stringprep profile differs from the others.</summary>
    private sealed record Profile(bool CaseFold, bool SpaceToAscii, bool ProhibitAsciiSpace, bool ProhibitAsciiControl, string ExtraProhibited)
    {
        public static readonly Profile Nodeprep = new(true, false, true, true, "\"&'/:<>@");
        public static readonly Profile Nameprep = new(true, false, false, false, "");
        public static readonly Profile Resourceprep = new(false, false, false, true, "");
        public static readonly Profile Saslprep = new(false, true, false, true, "");
    }

    /// <summary>Map (§3), normalize with NFKC (§4), prohibit (§5), check bidi (§6); null if rejected.</summary>
    private static string? Prepare(string s, Profile profile, bool strict)
    {
        if (Ascii.IsValid(s) && IsPlainAscii(s, profile)) return profile.CaseFold ? s.ToLowerInvariant() : s;
        // Unassigned code points are judged on the input: a newer NFKC may map them to assigned ones.
        if (strict && HasUnassigned(s)) return null;
        var mapped = Map(s, profile);
        if (mapped is null) return null;
        var normalized = Nfkc(mapped);
        if (normalized is not null && profile.CaseFold)
        {
            // B.2 contains the extra mappings that make fold∘NFKC stable; folding again gets them.
            var refolded = Map(normalized, profile)!;
            if (refolded != normalized) normalized = Nfkc(refolded);
        }
        return normalized is not null && IsAllowed(normalized, profile, strict) ? normalized : null;
    }

    private static bool HasUnassigned(string s)
    {
        foreach (var rune in s.EnumerateRunes())
        {
            if (InTable(UnassignedA1, rune.Value)) return true;
        }
        return false;
    }

    /// <summary>Step 2. .NET refuses to normalize U+FFFE, which C.4 prohibits anyway.</summary>
    private static string? Nfkc(string s)
    {
        try
        {
            return s.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Fast path: printable ASCII the profile allows needs no mapping, NFKC or bidi work.</summary>
    private static bool IsPlainAscii(string s, Profile profile)
    {
        foreach (char c in s)
        {
            if (c < 0x20 || c == 0x7F || (c == ' ' && profile.ProhibitAsciiSpace) || profile.ExtraProhibited.Contains(c))
                return false;
        }
        return true;
    }

    /// <summary>Step 1. Null for ill-formed UTF-16 (an unpaired surrogate: C.5).</summary>
    private static string? Map(string s, Profile profile)
    {
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            if (Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out int used) != System.Buffers.OperationStatus.Done) return null;
            i += used;
            int cp = rune.Value;
            if (InTable(MappedToNothingB1, cp)) continue;
            if (profile.SpaceToAscii && InTable(NonAsciiSpaceC12, cp)) sb.Append(' ');
            else if (profile.CaseFold) AppendFolded(sb, rune);
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }

    /// <summary>B.2 approximation, see the type's remarks.</summary>
    private static void AppendFolded(StringBuilder sb, Rune rune)
    {
        switch (rune.Value)
        {
            case 0x00DF or 0x1E9E:
                sb.Append("ss");
                return;
            case 0x0130: // full folding: i + combining dot above
                sb.Append("i\u0307");
                return;
            case 0x0131: // folded by Turkic rules only, which stringprep does not use
                sb.Append('\u0131');
                return;
            case >= 0x1F80 and <= 0x1FFC when rune.ToString().Normalize(NormalizationForm.FormD) is var d && d.Contains('\u0345'):
                // Greek with iota subscript: full folding spells the subscript as a separate ι.
                foreach (char c in d) AppendFolded(sb, new Rune(c));
                return;
            default:
                sb.Append(Rune.ToLowerInvariant(Rune.ToUpperInvariant(rune)).ToString());
                return;
        }
    }

    /// <summary>Steps 3–5 on the normalized string.</summary>
    private static bool IsAllowed(string s, Profile profile, bool strict)
    {
        bool hasRandAL = false, hasL = false;
        Rune first = default, last = default;
        foreach (var rune in s.EnumerateRunes())
        {
            int cp = rune.Value;
            if (IsProhibited(cp, profile) || (strict && InTable(UnassignedA1, cp))) return false;
            if (InTable(RightToLeftD1, cp)) hasRandAL = true;
            else if (InTable(LeftToRightD2, cp)) hasL = true;
            if (first.Value == 0) first = rune;
            last = rune;
        }
        // RFC 3454 §6: no mixing of RandALCat and LCat; a RandALCat string starts and ends with one.
        if (!hasRandAL) return true;
        return !hasL && InTable(RightToLeftD1, first.Value) && InTable(RightToLeftD1, last.Value);
    }

    private static bool IsProhibited(int cp, Profile profile)
    {
        if (cp < 0x80)
        {
            if (cp < 0x20 || cp == 0x7F) return profile.ProhibitAsciiControl; // C.2.1
            if (cp == ' ') return profile.ProhibitAsciiSpace; // C.1.1
            return profile.ExtraProhibited.Contains((char)cp);
        }
        if (!profile.SpaceToAscii && InTable(NonAsciiSpaceC12, cp)) return true; // C.1.2
        return InTable(AlwaysProhibited, cp) || IsPlaneEndNonCharacter(cp);
    }
}
