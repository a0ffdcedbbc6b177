using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Net.Security;
using LuaXmpp.Configuration;
using LuaXmpp.Logging;

namespace LuaXmpp.Tls;

/// <summary>
/// Finds and loads a host's certificate the way Prosody 0.12's certmanager does: an explicit
/// <c>ssl = { certificate = ..., key = ... }</c> wins; otherwise the <c>certificates</c>
/// directory (default "certs" next to the config) is searched, first for any certificate whose
/// names cover the host, then by file name (HOST.crt + HOST.key, HOST/fullchain.pem +
/// HOST/privkey.pem, HOST.pem), then the same for the parent domain.
/// </summary>
public static class CertificateLoader
{
    private static readonly Logger Log = Logger.For("certmanager");

    // How deep the directory index looks: certs/live/example.com/fullchain.pem is three levels.
    private const int IndexDepth = 3;

    /// <summary>The host's certificate with its private key, usable by SslStream; null when there is none.</summary>
    public static X509Certificate2? Load(ServerConfig config, string host, string configDirectory)
    {
        var files = Find(config, host, configDirectory);
        if (files is null) return null;
        try
        {
            return LoadFiles(files);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.Error($"Could not load certificate {files.CertificatePath} with key {files.KeyPath} for {host}: {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// The host's certificate and the intermediates that follow it in the certificate file, ready
    /// for <see cref="SslStream"/> to send the whole chain; null when there is no certificate.
    /// </summary>
    public static SslStreamCertificateContext? LoadContext(ServerConfig config, string host, string configDirectory)
    {
        var files = Find(config, host, configDirectory);
        if (files is null) return null;
        try
        {
            var certificate = LoadFiles(files);
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(files.CertificatePath);
            var intermediates = new X509Certificate2Collection(
                chain.Where(c => c.Thumbprint != certificate.Thumbprint).ToArray());
            return SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.Error($"Could not load certificate {files.CertificatePath} with key {files.KeyPath} for {host}: {e.Message}");
            return null;
        }
    }

    /// <summary>Where the host's certificate and key are, without loading them; null when not found.</summary>
    public static CertificateFiles? Find(ServerConfig config, string host, string configDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(configDirectory);

        if (config.Get(host, "ssl") is ConfigTable ssl && ConfigValues.AsString(ssl["certificate"]) is { } certificate)
        {
            var key = ConfigValues.AsString(ssl["key"]);
            if (key is null)
            {
                Log.Error($"No key present in SSL/TLS configuration for {host}");
                return null;
            }
            var files = new CertificateFiles(Resolve(configDirectory, certificate), Resolve(configDirectory, key));
            if (File.Exists(files.CertificatePath) && File.Exists(files.KeyPath)) return files;
            Log.Error($"Certificate {files.CertificatePath} or key {files.KeyPath} configured for {host} does not exist");
            return null;
        }

        var directory = Resolve(configDirectory, config.GetString(null, "certificates") ?? "certs");
        var index = new CertificateIndex(directory, IndexDepth);
        for (string? name = host; name is not null; name = Parent(name))
        {
            var found = index.Find(name) ?? FindByName(Resolve(configDirectory, config.GetString(name, "certificate") ?? directory), name);
            if (found is not null)
            {
                Log.Debug($"Selecting certificate {found.CertificatePath} with key {found.KeyPath} for {host}");
                return found;
            }
        }
        Log.Debug($"No certificate/key found for {host}");
        return null;
    }

    private static X509Certificate2 LoadFiles(CertificateFiles files)
    {
        using var pem = X509Certificate2.CreateFromPemFile(files.CertificatePath, files.KeyPath);
        // A PEM-loaded key is ephemeral; SslStream needs one it can hand to the TLS provider, which
        // a PKCS#12 round trip gives.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    // The file layouts certmanager tries, in its order; a direct file path is tried first.
    private static CertificateFiles? FindByName(string location, string name)
    {
        if (File.Exists(location))
        {
            var key = location.EndsWith(".crt", StringComparison.Ordinal) ? location[..^4] + ".key"
                : location.EndsWith("/fullchain.pem", StringComparison.Ordinal) ? location[..^"fullchain.pem".Length] + "privkey.pem"
                : location;
            return File.Exists(key) ? new CertificateFiles(location, key) : null;
        }
        (string Certificate, string Key)[] layouts =
        [
            ($"{name}.crt", $"{name}.key"),
            ($"{name}/fullchain.pem", $"{name}/privkey.pem"),
            ($"{name}.pem", $"{name}.pem"),
        ];
        foreach (var (certificate, key) in layouts)
        {
            var c = Path.Combine(location, certificate);
            var k = Path.Combine(location, key);
            if (File.Exists(c) && File.Exists(k)) return new CertificateFiles(c, k);
        }
        return null;
    }

    private static string? Parent(string host)
    {
        int dot = host.IndexOf('.');
        return dot < 0 || dot == host.Length - 1 ? null : host[(dot + 1)..];
    }

    private static string Resolve(string directory, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));
}
