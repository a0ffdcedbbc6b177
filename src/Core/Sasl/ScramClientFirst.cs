namespace LuaXmpp.Sasl;

/// <summary>
/// A parsed SCRAM client-first-message (RFC 5802 §7). <see cref="Username"/> is the unescaped
/// saslname, not yet prepared; <see cref="Bare"/> is client-first-message-bare as sent, which
/// goes into the AuthMessage.
/// </summary>
internal sealed record ScramClientFirst(string Gs2Header, string? Authzid, string Username, string Nonce, string Bare)
{
    /// <summary>Parses the message; on failure returns null and the reason.</summary>
    public static ScramClientFirst? Parse(string message, out string? error)
    {
        error = null;
        var parts = message.Split(',');
        if (parts.Length < 4) return Fail("Too few attributes in client-first-message.", out error);
        // gs2-cbind-flag: we offer no -PLUS mechanism, so "p=" cannot be honoured (RFC 5802 §6).
        if (parts[0].StartsWith("p=", StringComparison.Ordinal)) return Fail("Channel binding is not supported.", out error);
        if (parts[0] is not ("n" or "y")) return Fail("Invalid gs2-cbind-flag.", out error);
        string? authzid = null;
        if (parts[1].Length > 0)
        {
            if (!parts[1].StartsWith("a=", StringComparison.Ordinal)) return Fail("Invalid gs2 authzid.", out error);
            authzid = UnescapeSaslname(parts[1][2..]);
            if (authzid is null) return Fail("Invalid escape in authzid.", out error);
        }
        // reserved-mext "m=": RFC 5802 §5.1 — the server must fail if it is present.
        if (parts[2].StartsWith("m=", StringComparison.Ordinal)) return Fail("Mandatory extensions are not supported.", out error);
        if (!parts[2].StartsWith("n=", StringComparison.Ordinal)) return Fail("Expected username attribute.", out error);
        var user = UnescapeSaslname(parts[2][2..]);
        if (user is null || user.Length == 0) return Fail("Invalid username.", out error);
        if (!parts[3].StartsWith("r=", StringComparison.Ordinal) || !IsPrintable(parts[3].AsSpan(2)))
            return Fail("Invalid client nonce.", out error);
        int bareStart = parts[0].Length + parts[1].Length + 2;
        return new ScramClientFirst(message[..bareStart], authzid, user, parts[3][2..], message[bareStart..]);
    }

    /// <summary>saslname (RFC 5802 §5.1): ',' and '=' travel as "=2C" and "=3D"; any other '=' is invalid.</summary>
    internal static string? UnescapeSaslname(string s)
    {
        if (!s.Contains('=')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '=') { sb.Append(s[i]); continue; }
            if (i + 2 >= s.Length) return null;
            var esc = s.AsSpan(i + 1, 2);
            if (esc.Equals("2C", StringComparison.OrdinalIgnoreCase)) sb.Append(',');
            else if (esc.Equals("3D", StringComparison.OrdinalIgnoreCase)) sb.Append('=');
            else return null;
            i += 2;
        }
        return sb.ToString();
    }

    /// <summary>printable = %x21-2B / %x2D-7E (RFC 5802 §7), at least one character.</summary>
    internal static bool IsPrintable(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (char c in s)
        {
            if (c < 0x21 || c > 0x7E || c == ',') return false;
        }
        return true;
    }

    private static ScramClientFirst? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }
}
