namespace LuaXmpp.Network;

/// <summary>
/// Admission control shared by every client listener: how many connections one address may
/// hold, and how many may be unauthenticated at once, per address and in total. An idle
/// unauthenticated connection costs a descriptor and some memory but no account, so these caps
/// are what keep a plain TCP flood from exhausting the process (RFC 6120 §13.12 asks servers to
/// limit exactly this). A limit of 0 means no limit. Thread-safe.
/// </summary>
/// <remarks>
/// Authenticated connections are not capped per address by default: many users share one
/// address behind NAT, and each of them costs the attacker an account.
/// </remarks>
public sealed class ConnectionLimits
{
    /// <summary>network_settings.max_unauthenticated_per_ip: logins in progress from one address.</summary>
    public const int DefaultMaxUnauthenticatedPerIp = 256;

    /// <summary>network_settings.max_unauthenticated: logins in progress in total.</summary>
    public const int DefaultMaxUnauthenticated = 4096;

    private readonly Dictionary<string, Counts> _byIp = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _unauthenticated;
    private int _total;

    /// <summary>Connections one address may hold, authenticated or not (network_settings.max_connections_per_ip).</summary>
    public int MaxConnectionsPerIp { get; init; }

    public int MaxUnauthenticatedPerIp { get; init; } = DefaultMaxUnauthenticatedPerIp;

    public int MaxUnauthenticated { get; init; } = DefaultMaxUnauthenticated;

    /// <summary>
    /// The open-files limit now (null: none known); connections beyond
    /// <see cref="OpenFilesLimit.ConnectionsWithin"/> of it are refused whatever the other caps say.
    /// </summary>
    public Func<long?> DescriptorLimit { get; init; } = OpenFilesLimit.Current;

    /// <summary>Unauthenticated connections now.</summary>
    public int Unauthenticated
    {
        get
        {
            lock (_lock) return _unauthenticated;
        }
    }

    /// <summary>
    /// Counts a new (unauthenticated) connection from <paramref name="ip"/>, or returns which
    /// limit refuses it (and counts nothing).
    /// </summary>
    public string? TryAdmit(string ip)
    {
        lock (_lock)
        {
            _byIp.TryGetValue(ip, out var counts);
            if (DescriptorLimit() is { } files && _total >= OpenFilesLimit.ConnectionsWithin(files)) return "open files limit";
            if (MaxUnauthenticated > 0 && _unauthenticated >= MaxUnauthenticated) return "max_unauthenticated";
            if (MaxUnauthenticatedPerIp > 0 && counts.Unauthenticated >= MaxUnauthenticatedPerIp) return "max_unauthenticated_per_ip";
            if (MaxConnectionsPerIp > 0 && counts.Total >= MaxConnectionsPerIp) return "max_connections_per_ip";
            _byIp[ip] = new Counts(counts.Total + 1, counts.Unauthenticated + 1);
            _unauthenticated++;
            _total++;
            return null;
        }
    }

    /// <summary>The connection authenticated: it no longer counts as unauthenticated.</summary>
    public void Authenticated(string ip)
    {
        lock (_lock)
        {
            if (!_byIp.TryGetValue(ip, out var counts) || counts.Unauthenticated == 0) return;
            _byIp[ip] = counts with { Unauthenticated = counts.Unauthenticated - 1 };
            _unauthenticated--;
        }
    }

    /// <summary>The connection ended; <paramref name="wasAuthenticated"/> says which counts it was in.</summary>
    public void Released(string ip, bool wasAuthenticated)
    {
        lock (_lock)
        {
            if (!_byIp.TryGetValue(ip, out var counts)) return;
            var next = new Counts(counts.Total - 1, counts.Unauthenticated - (wasAuthenticated ? 0 : 1));
            if (!wasAuthenticated) _unauthenticated--;
            _total--;
            if (next.Total <= 0) _byIp.Remove(ip);
            else _byIp[ip] = next;
        }
    }

    private readonly record struct Counts(int Total, int Unauthenticated);
}
