using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Configuration;
using LuaXmpp.Logging;
using LuaXmpp.Tls;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// The TLS certificate of every VirtualHost: the configured one, or one found in the
/// certificates directory, or — on first start — a self-signed one generated there.
/// </summary>
public sealed class CertificateSet : IDisposable
{
    private readonly Dictionary<string, X509Certificate2> _byHost = new(StringComparer.OrdinalIgnoreCase);
    private readonly Logger _log = Logger.For("certmanager");

    public static CertificateSet Load(ServerConfig config, ServerPaths paths)
    {
        var set = new CertificateSet();
        foreach (var host in config.Hosts.Where(h => h.Enabled && h.Kind == HostKind.VirtualHost))
        {
            var cert = CertificateLoader.Load(config, host.Name, paths.ConfigDirectory);
            if (cert is null)
            {
                set._log.Info($"No certificate configured for {host.Name}; generating a self-signed one in {paths.CertificatesPath}");
                var created = SelfSignedCertificate.Create(host.Name, TimeSpan.FromDays(365));
                SelfSignedCertificate.WriteTo(paths.CertificatesPath, host.Name, created);
                created.Dispose();
                cert = CertificateLoader.Load(config, host.Name, paths.ConfigDirectory);
            }
            if (cert is not null) set._byHost[host.Name] = cert;
            else set._log.Warn($"No usable certificate for {host.Name}: TLS will not be offered");
        }
        return set;
    }

    public bool Has(string host) => _byHost.ContainsKey(host);

    /// <summary>The certificate for a host name (from SNI or the stream header), else any we have.</summary>
    public X509Certificate2? For(string? host) =>
        host is not null && _byHost.TryGetValue(host, out var cert) ? cert : _byHost.Values.FirstOrDefault();

    public void Dispose()
    {
        foreach (var c in _byHost.Values) c.Dispose();
    }
}
