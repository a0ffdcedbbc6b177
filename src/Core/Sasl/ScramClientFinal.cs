namespace LuaXmpp.Sasl;

/// <summary>
/// A parsed SCRAM client-final-message (RFC 5802 §7): "c=" channel binding, "r=" nonce, optional
/// extensions, and "p=" proof last. <see cref="WithoutProof"/> goes into the AuthMessage.
/// </summary>
internal sealed record ScramClientFinal(byte[] ChannelBinding, string Nonce, byte[] Proof, string WithoutProof)
{
    /// <summary>Parses the message; on failure returns null and the reason.</summary>
    public static ScramClientFinal? Parse(string message, out string? error)
    {
        error = null;
        int proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0) return Fail("Missing proof.", out error);
        var parts = message[..proofAt].Split(',');
        if (parts.Length < 2 || !parts[0].StartsWith("c=", StringComparison.Ordinal) || !parts[1].StartsWith("r=", StringComparison.Ordinal))
            return Fail("Expected channel binding and nonce attributes.", out error);
        var binding = DecodeBase64(parts[0][2..]);
        var proof = DecodeBase64(message[(proofAt + 3)..]);
        if (binding is null || proof is null) return Fail("Invalid base64 in client-final-message.", out error);
        if (!ScramClientFirst.IsPrintable(parts[1].AsSpan(2))) return Fail("Invalid nonce.", out error);
        return new ScramClientFinal(binding, parts[1][2..], proof, message[..proofAt]);
    }

    private static byte[]? DecodeBase64(string s)
    {
        if (s.Length == 0) return null;
        var buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out int written) ? buffer[..written] : null;
    }

    private static ScramClientFinal? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }
}
