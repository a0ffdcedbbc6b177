namespace LuaXmpp.Xmpp;

// The short stringprep tables of RFC 3454, typed from its appendices. Pairs are inclusive
// [first, last] ranges, sorted, so lookups can binary-search them.
public static partial class JidPrep
{
    /// <summary>B.1: commonly mapped to nothing (soft hyphen, joiners, variation selectors, BOM…).</summary>
    private static ReadOnlySpan<int> MappedToNothingB1 =>
    [
        0x00AD, 0x00AD, 0x034F, 0x034F, 0x1806, 0x1806, 0x180B, 0x180D, 0x200B, 0x200D,
        0x2060, 0x2060, 0xFE00, 0xFE0F, 0xFEFF, 0xFEFF,
    ];

    /// <summary>C.1.2: non-ASCII space characters.</summary>
    private static ReadOnlySpan<int> NonAsciiSpaceC12 =>
    [
        0x00A0, 0x00A0, 0x1680, 0x1680, 0x2000, 0x200B, 0x202F, 0x202F, 0x205F, 0x205F,
        0x3000, 0x3000,
    ];

    /// <summary>
    /// C.2.2 (non-ASCII controls), C.3 (private use), C.4 (non-characters, the U+xxFFFE/F ones
    /// are tested arithmetically), C.5 (surrogates), C.6 (inappropriate for plain text), C.7
    /// (inappropriate for canonical representation), C.8 (display-changing and deprecated) and
    /// C.9 (tagging): every profile here prohibits all of them, so they form one table.
    /// </summary>
    private static ReadOnlySpan<int> AlwaysProhibited =>
    [
        0x0080, 0x009F, 0x0340, 0x0341, 0x06DD, 0x06DD, 0x070F, 0x070F, 0x180E, 0x180E,
        0x200C, 0x200F, 0x2028, 0x202E, 0x2060, 0x2063, 0x206A, 0x206F, 0x2FF0, 0x2FFB,
        0xD800, 0xF8FF, 0xFDD0, 0xFDEF, 0xFEFF, 0xFEFF, 0xFFF9, 0xFFFD, 0x1D173, 0x1D17A,
        0xE0001, 0xE0001, 0xE0020, 0xE007F, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD,
    ];

    /// <summary>D.1: characters with bidirectional property R or AL.</summary>
    private static ReadOnlySpan<int> RightToLeftD1 =>
    [
        0x05BE, 0x05BE, 0x05C0, 0x05C0, 0x05C3, 0x05C3, 0x05D0, 0x05EA, 0x05F0, 0x05F4,
        0x061B, 0x061B, 0x061F, 0x061F, 0x0621, 0x063A, 0x0640, 0x064A, 0x066D, 0x066F,
        0x0671, 0x06D5, 0x06DD, 0x06DD, 0x06E5, 0x06E6, 0x06FA, 0x06FE, 0x0700, 0x070D,
        0x0710, 0x0710, 0x0712, 0x072C, 0x0780, 0x07A5, 0x07B1, 0x07B1, 0x200F, 0x200F,
        0xFB1D, 0xFB1D, 0xFB1F, 0xFB28, 0xFB2A, 0xFB36, 0xFB38, 0xFB3C, 0xFB3E, 0xFB3E,
        0xFB40, 0xFB41, 0xFB43, 0xFB44, 0xFB46, 0xFBB1, 0xFBD3, 0xFD3D, 0xFD50, 0xFD8F,
        0xFD92, 0xFDC7, 0xFDF0, 0xFDFC, 0xFE70, 0xFE74, 0xFE76, 0xFEFC,
    ];

    private static bool InTable(ReadOnlySpan<int> ranges, int cp)
    {
        int lo = 0, hi = ranges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[2 * mid]) hi = mid - 1;
            else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /// <summary>C.4's non-characters at the end of every plane (U+xxFFFE, U+xxFFFF).</summary>
    private static bool IsPlaneEndNonCharacter(int cp) => (cp & 0xFFFE) == 0xFFFE;
}
