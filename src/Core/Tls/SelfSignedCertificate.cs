using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LuaXmpp.Tls;

/// <summary>
/// Self-signed certificates for a host, as <c>prosodyctl cert generate</c> makes them: RSA 2048,
/// names for the host and its subdomains, written as HOST.crt and HOST.key PEM files.
/// </summary>
public static class SelfSignedCertificate
{
    // Tolerate clocks slightly behind ours on the peer.
    private static readonly TimeSpan BackdateBy = TimeSpan.FromMinutes(5);

    public static X509Certificate2 Create(string host, TimeSpan validity) => Create(host, validity, TimeProvider.System);

    public static X509Certificate2 Create(string host, TimeSpan validity, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(time);
        if (validity <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(validity), "validity must be positive");

        using var key = RSA.Create(2048);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={host}"), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        names.AddDnsName("*." + host);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        // serverAuth for c2s/s2s listeners; clientAuth too because s2s (RFC 6120 §13.7.1.3) may
        // present the same certificate when connecting out.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            new OidCollection { new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2") }, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = time.GetUtcNow();
        using var created = request.CreateSelfSigned(now - BackdateBy, now + validity);
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>Writes HOST.crt and HOST.key (PKCS#8, readable by the owner only) into the directory.</summary>
    public static (string CertPath, string KeyPath) WriteTo(string directory, string host, X509Certificate2 cert)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(cert);

        Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, host + ".crt");
        var keyPath = Path.Combine(directory, host + ".key");
        var keyPem = ExportKey(cert);

        WriteNew(keyPath, keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteNew(certPath, cert.ExportCertificatePem() + "\n",
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return (certPath, keyPath);
    }

    private static string ExportKey(X509Certificate2 cert)
    {
        using AsymmetricAlgorithm? key = (AsymmetricAlgorithm?)cert.GetRSAPrivateKey() ?? cert.GetECDsaPrivateKey();
        if (key is null) throw new ArgumentException("the certificate has no RSA or ECDSA private key", nameof(cert));
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    // Replaces the file; a new file gets the mode at creation, so the key is never readable by others.
    private static void WriteNew(string path, string text, UnixFileMode mode)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using var writer = new StreamWriter(path, new System.Text.UTF8Encoding(false), options);
        writer.Write(text);
    }
}
