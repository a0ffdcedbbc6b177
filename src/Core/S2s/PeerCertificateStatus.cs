namespace LuaXmpp.S2s;

/// <summary>What the peer's certificate proves (XEP-0178 §3): a trusted chain, and whether it names the domain.</summary>
public sealed record PeerCertificateStatus(bool Present, bool ChainValid, bool IdentityValid, string? ChainError)
{
    public bool Verified => ChainValid && IdentityValid;

    public static PeerCertificateStatus None { get; } = new(false, false, false, "no certificate");
}
