using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Configuration;
using LuaXmpp.Logging;
using LuaXmpp.Tls;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// The TLS certificate of every VirtualHost: the configured one, or one found in the
/// certificates directory, or — on first start — a self-signed one generated there.
/// <see cref="Reload"/> (SIGHUP) reads them again; connections opened afterwards get the new ones.
/// </summary>
public sealed class CertificateSet : IDisposable
{
    private readonly Logger _log = Logger.For("certmanager");
    private volatile Dictionary<string, X509Certificate2> _byHost = new(StringComparer.OrdinalIgnoreCase);

    public static CertificateSet Load(ServerConfig config, ServerPaths paths)
    {
        var set = new CertificateSet();
        set._byHost = set.Read(config, paths);
        return set;
    }

    /// <summary>Reads every certificate again; the old ones stay with connections that already use them.</summary>
    public void Reload(ServerConfig config, ServerPaths paths)
    {
        _byHost = Read(config, paths);
        _log.Info($"Certificates reloaded for {string.Join(", ", _byHost.Keys.Order(StringComparer.Ordinal))}");
    }

    private Dictionary<string, X509Certificate2> Read(ServerConfig config, ServerPaths paths)
    {
        var byHost = new Dictionary<string, X509Certificate2>(StringComparer.OrdinalIgnoreCase);
        foreach (var host in config.Hosts.Where(h => h.Enabled && h.Kind == HostKind.VirtualHost))
        {
            var cert = CertificateLoader.Load(config, host.Name, paths.ConfigDirectory);
            if (cert is null && !Configured(config, host.Name))
            {
                _log.Info($"No certificate configured for {host.Name}; generating a self-signed one in {paths.CertificatesPath}");
                using var created = SelfSignedCertificate.Create(host.Name, TimeSpan.FromDays(365));
                SelfSignedCertificate.WriteTo(paths.CertificatesPath, host.Name, created);
                cert = CertificateLoader.Load(config, host.Name, paths.ConfigDirectory);
            }
            if (cert is not null) byHost[host.Name] = cert;
            else _log.Error($"No usable certificate for {host.Name}: TLS will not be offered to it");
        }
        return byHost;
    }

    // A host whose ssl option names a certificate: a missing file is an error to report, not a
    // reason to generate one behind the operator's back.
    private static bool Configured(ServerConfig config, string host) =>
        config.Get(host, "ssl") is ConfigTable ssl && ssl["certificate"] is not null;

    public bool Has(string host) => _byHost.ContainsKey(host);

    /// <summary>Hosts that have a certificate.</summary>
    public IReadOnlyCollection<string> Hosts => _byHost.Keys;

    /// <summary>The certificate for a host name (from SNI or the stream header), else any we have.</summary>
    public X509Certificate2? For(string? host)
    {
        var byHost = _byHost;
        return host is not null && byHost.TryGetValue(host, out var cert) ? cert : byHost.Values.FirstOrDefault();
    }

    // Replaced certificates are not disposed on reload: connections in their handshake may hold them.
    public void Dispose()
    {
        foreach (var c in _byHost.Values) c.Dispose();
    }
}
