using System.Globalization;

namespace LuaXmpp.Storage;

/// <summary>
/// Numbers as Lua 5.4 writes them with <c>tostring</c> and reads them with <c>tonumber</c>: Prosody
/// stores numbers that way in the "number" type and inside its JSON, so we must produce and accept
/// the same text (integers plain, floats as "%.14g" with ".0" added when that looks integral).
/// </summary>
internal static class LuaNumber
{
    private const int Precision = 14;

    /// <summary>The text Lua's tostring gives for an integer or float value.</summary>
    public static string Format(object number) => number switch
    {
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        float f => FormatFloat(f),
        _ => throw new ArgumentException("not a number: " + number.GetType(), nameof(number)),
    };

    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return double.IsNegative(d) ? "-nan" : "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        string s = FormatG(d, Precision);
        // Lua marks floats that print like integers with ".0" (lobject.c, tostringbuff).
        foreach (char c in s)
        {
            if (c != '-' && !char.IsAsciiDigit(c)) return s;
        }
        return s + ".0";
    }

    /// <summary>C's printf("%.<paramref name="precision"/>g"): "%.14g" for Lua's tostring, "%.18g" for util.serialization.</summary>
    internal static string FormatG(double d, int precision)
    {
        if (d == 0) return double.IsNegative(d) ? "-0" : "0";
        // The exponent after rounding to the significant digits decides between fixed and exponent form.
        string e = d.ToString("E" + (precision - 1), CultureInfo.InvariantCulture);
        int ePos = e.IndexOf('E');
        int exponent = int.Parse(e.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent < -4 || exponent >= precision)
        {
            string mantissa = TrimFraction(e[..ePos]);
            string sign = exponent < 0 ? "-" : "+";
            return mantissa + "e" + sign + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        return TrimFraction(d.ToString("F" + (precision - 1 - exponent), CultureInfo.InvariantCulture));
    }

    private static string TrimFraction(string s)
    {
        if (!s.Contains('.')) return s;
        s = s.TrimEnd('0');
        return s.EndsWith('.') ? s[..^1] : s;
    }

    /// <summary>Lua's tonumber on a string: integer when it is one and fits, else float; null when not a number.</summary>
    public static object? Parse(string text)
    {
        var s = text.Trim(' ', '\t', '\n', '\r', '\f', '\v');
        if (s.Length == 0) return null;
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        var unsigned = s.TrimStart('-', '+');
        if (unsigned.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && ulong.TryParse(unsigned.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            // Lua wraps hexadecimal integers around modulo 2^64.
            long v = unchecked((long)hex);
            return s[0] == '-' ? unchecked(-v) : v;
        }
        switch (s)
        {
            // Not accepted by tonumber, but Lua's tostring writes them; read back what we could have written.
            case "inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
            case "nan" or "-nan": return double.NaN;
        }
        if (s.Any(c => !(char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-'))) return null;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    /// <summary>Lua normalizes float keys with an integral value to integers (t[1.0] is t[1]); so do we, and int becomes long.</summary>
    public static object NormalizeKey(object key) => key switch
    {
        int i => (long)i,
        double d when Math.Floor(d) == d && d >= long.MinValue && d < 9.2233720368547758E18 => (long)d,
        _ => key,
    };
}
