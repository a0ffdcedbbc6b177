using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Logging;

namespace LuaXmpp.Tls;

/// <summary>
/// The certificates in a directory tree by the DNS names they cover, as certmanager indexes the
/// <c>certificates</c> directory: files named *.crt or containing "fullchain" that start with a
/// PEM certificate, are currently valid and have a matching key file (.crt → .key,
/// fullchain → privkey).
/// </summary>
internal sealed class CertificateIndex(string directory, int depth)
{
    private static readonly Logger Log = Logger.For("certmanager");

    private Dictionary<string, List<(CertificateFiles Files, DateTime NotAfter)>>? _byName;

    /// <summary>The certificate for a name: an exact entry, else a wildcard one for its parent.</summary>
    public CertificateFiles? Find(string host)
    {
        _byName ??= Build();
        var wildcard = host.IndexOf('.') is var dot and > 0 ? "*" + host[dot..] : null;
        if (_byName.TryGetValue(host, out var list) || (wildcard is not null && _byName.TryGetValue(wildcard, out list)))
        {
            // certmanager takes any match; the one valid longest is the most recently issued, usually.
            return list.MaxBy(e => e.NotAfter).Files;
        }
        return null;
    }

    private Dictionary<string, List<(CertificateFiles, DateTime)>> Build()
    {
        var index = new Dictionary<string, List<(CertificateFiles, DateTime)>>(StringComparer.OrdinalIgnoreCase);
        if (Directory.Exists(directory)) Scan(directory, depth, index);
        return index;
    }

    private static void Scan(string directory, int depth, Dictionary<string, List<(CertificateFiles, DateTime)>> index)
    {
        if (depth <= 0) return;
        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Error($"Error indexing certificate directory {directory}: {e.Message}");
            return;
        }
        Array.Sort(entries, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var name = Path.GetFileName(entry);
            if (Directory.Exists(entry))
            {
                if (!name.StartsWith('.')) Scan(entry, depth - 1, index);
            }
            else if (name.EndsWith(".crt", StringComparison.Ordinal) || name.Contains("fullchain", StringComparison.Ordinal))
            {
                Add(entry, index);
            }
        }
    }

    private static void Add(string path, Dictionary<string, List<(CertificateFiles, DateTime)>> index)
    {
        var key = MatchingKey(path);
        if (!File.Exists(key)) return;
        try
        {
            using (var reader = new StreamReader(path))
            {
                if (reader.ReadLine() != "-----BEGIN CERTIFICATE-----") return;
            }
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(path);
            var now = DateTime.Now;
            if (now < certificate.NotBefore || now > certificate.NotAfter) return;
            foreach (var name in Names(certificate))
            {
                if (!index.TryGetValue(name, out var list)) index[name] = list = new();
                list.Add((new CertificateFiles(path, key), certificate.NotAfter));
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            Log.Debug($"Skipping {path} while indexing certificates: {e.Message}");
        }
    }

    private static string MatchingKey(string certificatePath)
    {
        var key = certificatePath.EndsWith(".crt", StringComparison.Ordinal) ? certificatePath[..^4] + ".key" : certificatePath;
        var directory = Path.GetDirectoryName(key) ?? "";
        return Path.Combine(directory, Path.GetFileName(key).Replace("fullchain", "privkey", StringComparison.Ordinal));
    }

    // The DNS names a certificate is for: its subjectAltName dNSNames, or its CN when it has none
    // (RFC 6125 §6.4.4 allows the CN only as a fallback).
    private static IEnumerable<string> Names(X509Certificate2 certificate)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (san is not null) return san.EnumerateDnsNames().ToArray();
        var cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(cn) ? [] : [cn];
    }
}
