using System.Security.Cryptography;
using LuaXmpp.Configuration;

namespace LuaXmpp.S2s;

/// <summary>The s2s options, read as Prosody 0.12's mod_s2s reads them (same names, same defaults).</summary>
public sealed record S2sSettings
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(90);

    public bool RequireEncryption { get; init; } = true;

    public bool SecureAuth { get; init; }

    public IReadOnlySet<string> SecureDomains { get; init; } = new HashSet<string>();

    public IReadOnlySet<string> InsecureDomains { get; init; } = new HashSet<string>();

    public int StanzaSizeLimit { get; init; } = 512 * 1024;

    public int UnauthenticatedStanzaSizeLimit { get; init; } = 10_000;

    /// <summary>XEP-0185: the secret dialback keys are made from (dialback_secret, else random per start).</summary>
    public required string DialbackSecret { get; init; }

    public bool UseIpv4 { get; init; } = true;

    public bool UseIpv6 { get; init; } = true;

    /// <summary>The CA file (ssl.cafile) peers' certificates must chain to; null: the system's trust store.</summary>
    public string? CaFile { get; init; }

    /// <summary>A directory of CA certificates (ssl.capath), used when no cafile is set.</summary>
    public string? CaPath { get; init; }

    /// <summary>Prosody: s2s_secure_domains forces, s2s_insecure_domains waives, otherwise s2s_secure_auth.</summary>
    public bool RequiresCertificate(string domain) =>
        SecureDomains.Contains(domain) || (SecureAuth && !InsecureDomains.Contains(domain));

    public static S2sSettings From(ServerConfig config)
    {
        var ssl = config.Get(null, "ssl") as ConfigTable;
        return new S2sSettings
        {
            Timeout = TimeSpan.FromSeconds(Math.Max(1, config.GetNumber(null, "s2s_timeout") ?? 90)),
            RequireEncryption = config.GetBoolean(null, "s2s_require_encryption", true),
            SecureAuth = config.GetBoolean(null, "s2s_secure_auth", false),
            SecureDomains = config.GetStringList(null, "s2s_secure_domains").ToHashSet(StringComparer.Ordinal),
            InsecureDomains = config.GetStringList(null, "s2s_insecure_domains").ToHashSet(StringComparer.Ordinal),
            StanzaSizeLimit = Limit(config.GetNumber(null, "s2s_stanza_size_limit"), 512 * 1024, 10_000),
            UnauthenticatedStanzaSizeLimit = Limit(config.GetNumber(null, "s2s_unauthed_stanza_size_limit"), 10_000, 1_000),
            DialbackSecret = config.GetString(null, "dialback_secret") ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            UseIpv4 = config.GetBoolean(null, "use_ipv4", true),
            UseIpv6 = config.GetBoolean(null, "use_ipv6", true),
            CaFile = ConfigValues.AsString(ssl?["cafile"]),
            CaPath = ConfigValues.AsString(ssl?["capath"]),
        };
    }

    private static int Limit(double? value, int fallback, int minimum) =>
        value is { } v && v <= int.MaxValue ? Math.Max(minimum, (int)v) : fallback;
}
