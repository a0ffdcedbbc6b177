using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.S2s;

/// <summary>
/// Where to connect for a domain (RFC 6120 §3.2): SRV records of _xmpp-server._tcp in priority
/// order, else the domain itself on port 5269; each target's addresses from the static records,
/// RFC 6761 loopback for names under .localhost, else the system resolver. Every lookup is
/// bounded in time (no DNS server may be reachable at all), so resolution cannot hang.
/// </summary>
public sealed class S2sResolver(StaticDnsRecords records, S2sSettings settings)
{
    public const int DefaultPort = 5269;
    private static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(3);

    public async Task<IReadOnlyList<IPEndPoint>> ResolveAsync(string domain, CancellationToken cancel)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (var target in await TargetsAsync(domain, cancel).ConfigureAwait(false))
        {
            foreach (var address in await AddressesAsync(target.Host, cancel).ConfigureAwait(false))
            {
                endpoints.Add(new IPEndPoint(address, target.Port));
            }
        }
        return endpoints;
    }

    private async Task<IReadOnlyList<SrvTarget>> TargetsAsync(string domain, CancellationToken cancel)
    {
        var name = "_xmpp-server._tcp." + domain;
        var srv = records.Srv(name);
        if (srv is null && !IsLocalhost(domain) && !IPAddress.TryParse(domain, out _))
            srv = await SrvQuery.LookupAsync(name, LookupTimeout, cancel).ConfigureAwait(false);
        // RFC 2782: a single "." target means the service is not offered there.
        if (srv is { Count: 1 } && srv[0].Host is "" or ".") return [];
        if (srv is null || srv.Count == 0) return [new SrvTarget(0, 0, DefaultPort, domain)];
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
