using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.S2s;

/// <summary>One address to try, and whether TLS starts with the first byte there (XEP-0368).</summary>
public sealed record S2sEndpoint(IPEndPoint EndPoint, bool DirectTls);

/// <summary>
/// Where to connect for a domain (RFC 6120 §3.2): SRV records of _xmpps-server._tcp (XEP-0368,
/// direct TLS) then _xmpp-server._tcp in priority order, else the domain itself on port 5269; each target's addresses from the static records,
/// RFC 6761 loopback for names under .localhost, else the system resolver. Every lookup is
/// bounded in time (no DNS server may be reachable at all), so resolution cannot hang.
/// </summary>
public sealed class S2sResolver(StaticDnsRecords records, S2sSettings settings)
{
    public const int DefaultPort = 5269;
    private static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(3);

    public async Task<IReadOnlyList<S2sEndpoint>> ResolveAsync(string domain, CancellationToken cancel)
    {
        var direct = SrvAsync("_xmpps-server._tcp." + domain, domain, cancel);
        var plain = SrvAsync("_xmpp-server._tcp." + domain, domain, cancel);
        var endpoints = new List<S2sEndpoint>();
        await AddAsync(endpoints, await direct.ConfigureAwait(false) ?? [], true, cancel).ConfigureAwait(false);
        var starttls = await plain.ConfigureAwait(false) ?? [new SrvTarget(0, 0, DefaultPort, domain)];
        await AddAsync(endpoints, starttls, false, cancel).ConfigureAwait(false);
        return endpoints;
    }

    private async Task AddAsync(List<S2sEndpoint> endpoints, IReadOnlyList<SrvTarget> targets, bool directTls, CancellationToken cancel)
    {
        foreach (var target in targets)
        {
            foreach (var address in await AddressesAsync(target.Host, cancel).ConfigureAwait(false))
            {
                endpoints.Add(new S2sEndpoint(new IPEndPoint(address, target.Port), directTls));
            }
        }
    }

    // The targets in priority order; an empty list when the service is declared absent
    // (RFC 2782: a single "." target); null when the name has no records.
    private async Task<IReadOnlyList<SrvTarget>?> SrvAsync(string name, string domain, CancellationToken cancel)
    {
        var srv = records.Srv(name);
        if (srv is null && !IsLocalhost(domain) && !IPAddress.TryParse(domain, out _))
            srv = await SrvQuery.LookupAsync(name, LookupTimeout, cancel).ConfigureAwait(false);
        if (srv is { Count: 1 } && srv[0].Host is "" or ".") return [];
        if (srv is null || srv.Count == 0) return null;
        return srv.OrderBy(t => t.Priority).ThenByDescending(t => t.Weight).ToList();
    }

    private async Task<IReadOnlyList<IPAddress>> AddressesAsync(string host, CancellationToken cancel)
    {
        IEnumerable<IPAddress> found;
        if (IPAddress.TryParse(host, out var literal)) found = [literal];
        else if (records.Addresses(host) is { Count: > 0 } known) found = known;
        // RFC 6761 §6.3: localhost names resolve to loopback, without asking anyone.
        else if (IsLocalhost(host)) found = [IPAddress.Loopback, IPAddress.IPv6Loopback];
        else if (records.Addresses(host) is not null) found = [];
        else found = await SystemLookupAsync(host, cancel).ConfigureAwait(false);
        return found.Where(a => a.AddressFamily == AddressFamily.InterNetwork ? settings.UseIpv4 : settings.UseIpv6).ToList();
    }

    private static async Task<IPAddress[]> SystemLookupAsync(string host, CancellationToken cancel)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(LookupTimeout);
        try
        {
            return await Dns.GetHostAddressesAsync(host, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException)
        {
            return [];
        }
    }

    private static bool IsLocalhost(string name)
    {
        var n = name.TrimEnd('.');
        return n.Equals("localhost", StringComparison.OrdinalIgnoreCase) || n.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
    }
}
