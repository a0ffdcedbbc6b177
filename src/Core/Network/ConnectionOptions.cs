using System.Security.Cryptography.X509Certificates;

namespace LuaXmpp.Network;

/// <summary>Per-listener settings for client connections.</summary>
public sealed record ConnectionOptions
{
    /// <summary>XEP-0368: TLS from the first byte.</summary>
    public bool DirectTls { get; init; }

    /// <summary>The certificate for a host name (SNI or the stream's 'to'); null when the host has none.</summary>
    public required Func<string?, X509Certificate2?> CertificateFor { get; init; }

    /// <summary>RFC 6120 §13.12: bytes a client may send before it authenticates (Prosody: 10 000).</summary>
    public int UnauthenticatedStanzaLimit { get; init; } = 10_000;

    /// <summary>Seconds an unauthenticated connection may live (Prosody's c2s_timeout, default 300).</summary>
    public TimeSpan? UnauthenticatedTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Elements queued for a client that does not read before it is disconnected, so a dead
    /// reader cannot grow server memory without bound.
    /// </summary>
    public int MaxQueuedItems { get; init; } = 10_000;
}
