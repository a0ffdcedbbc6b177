using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// Certificates for federation tests, made with openssl: self-signed ones (nothing verifies, so
/// servers fall back to dialback) or leaves signed by a CA of the test's own, with the domain as
/// subjectAltName (RFC 6125 DNS-ID), which verify once both servers trust that CA (ssl.cafile).
/// </summary>
internal static class FederationCertificates
{
    private static readonly TimeSpan OpensslTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Makes a CA in <paramref name="directory"/>; returns the path of its certificate.</summary>
    public static async Task<string> CreateCaAsync(string directory)
    {
        var key = Path.Combine(directory, "ca.key");
        var crt = Path.Combine(directory, "ca.crt");
        await OpensslAsync(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=LuaXmpp federation test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", key, "-out", crt);
        return crt;
    }

    /// <summary>Writes DOMAIN.crt and DOMAIN.key into <paramref name="certs"/>: CA-signed when <paramref name="caCertificate"/> is given, else self-signed.</summary>
    public static async Task CreateLeafAsync(string certs, string domain, string? caCertificate)
    {
        Directory.CreateDirectory(certs);
        var key = Path.Combine(certs, domain + ".key");
        var crt = Path.Combine(certs, domain + ".crt");
        if (caCertificate is null)
        {
            await OpensslAsync(certs, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + domain,
                "-addext", "subjectAltName=DNS:" + domain, "-keyout", key, "-out", crt);
            return;
        }
        var csr = Path.Combine(certs, domain + ".csr");
        var ext = Path.Combine(certs, domain + ".ext");
        await File.WriteAllTextAsync(ext, $"subjectAltName=DNS:{domain}\nbasicConstraints=CA:FALSE\n");
        await OpensslAsync(certs, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + domain, "-keyout", key, "-out", csr);
        var caDir = Path.GetDirectoryName(caCertificate)!;
        await OpensslAsync(certs, "x509", "-req", "-in", csr, "-CA", caCertificate, "-CAkey", Path.Combine(caDir, "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt);
    }

    private static async Task OpensslAsync(string directory, params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("openssl", arguments, directory, OpensslTimeout);
        if (result.ExitCode != 0) throw new InvalidOperationException("openssl failed: " + result);
    }
}
