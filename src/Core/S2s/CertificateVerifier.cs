using System.Security.Cryptography.X509Certificates;

namespace LuaXmpp.S2s;

/// <summary>
/// Judges a peer's certificate for a domain (XEP-0178 §3, RFC 6120 §13.7.2): the chain must
/// end at a trusted root (ssl.cafile / ssl.capath when set, else the system's store) and the
/// certificate must name the domain as RFC 6125 §6 says (DNS-IDs with a left-most wildcard;
/// the CN only when there is no DNS-ID).
/// </summary>
public sealed class CertificateVerifier
{
    private readonly X509Certificate2Collection? _roots;

    public CertificateVerifier(S2sSettings settings)
    {
        if (settings.CaFile is { } file && File.Exists(file))
        {
            _roots = new X509Certificate2Collection();
            _roots.ImportFromPemFile(file);
        }
        else if (settings.CaPath is { } path && Directory.Exists(path))
        {
            _roots = new X509Certificate2Collection();
            foreach (var pem in Directory.EnumerateFiles(path).Where(f => f.EndsWith(".pem", StringComparison.Ordinal) || f.EndsWith(".crt", StringComparison.Ordinal)))
            {
                try
                {
                    _roots.ImportFromPemFile(pem);
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // Not a certificate file: capath directories hold hash links and other files too.
                }
            }
        }
    }

    public PeerCertificateStatus Verify(X509Certificate2? certificate, string domain)
    {
        if (certificate is null) return PeerCertificateStatus.None;
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (_roots is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        }
        bool chainValid;
        string? error = null;
        try
        {
            chainValid = chain.Build(certificate);
            if (!chainValid) error = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            chainValid = false;
            error = e.Message;
        }
        bool identity = certificate.MatchesHostname(domain, true, true);
        return new PeerCertificateStatus(true, chainValid, identity, error);
    }
}
