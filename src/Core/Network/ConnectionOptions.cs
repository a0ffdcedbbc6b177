using System.Security.Cryptography.X509Certificates;

namespace LuaXmpp.Network;

/// <summary>Per-listener settings for client connections.</summary>
public sealed record ConnectionOptions
{
    /// <summary>XEP-0368: TLS from the first byte.</summary>
    public bool DirectTls { get; init; }

    /// <summary>The service name listeners log under (Prosody's portmanager names); null: c2s.</summary>
    public string? Service { get; init; }

    /// <summary>The certificate for a host name (SNI or the stream's 'to'); null when the host has none.</summary>
    public required Func<string?, X509Certificate2?> CertificateFor { get; init; }

    /// <summary>
    /// s2s (RFC 6120 §13.7.2.2): ask the peer for its certificate during the TLS handshake and
    /// accept whatever it sends; the stream handler verifies it (XEP-0178), not the handshake.
    /// </summary>
    public bool RequestPeerCertificate { get; init; }

    /// <summary>
    /// An outgoing s2s connection: TLS is negotiated as the client, for this server name (SNI),
    /// with our certificate for <see cref="ClientConnection.ServerName"/> as the client certificate.
    /// </summary>
    public string? OutgoingTlsTarget { get; init; }

    /// <summary>RFC 6120 §13.12: bytes a client may send before it authenticates (Prosody: 10 000).</summary>
    public int UnauthenticatedStanzaLimit { get; init; } = 10_000;

    /// <summary>Seconds an unauthenticated connection may live (Prosody's c2s_timeout, default 300).</summary>
    public TimeSpan? UnauthenticatedTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Admission caps shared by all client listeners; null admits everyone.</summary>
    public ConnectionLimits? Limits { get; init; }

    /// <summary>
    /// A backstop on the number of elements queued for a client that does not read. The byte
    /// budget (<see cref="MaxSendBufferBytes"/>) is the real bound; this one only caps the
    /// per-element overhead of a flood of tiny elements (about 100 bytes each beyond their text).
    /// </summary>
    public int MaxQueuedItems { get; init; } = 100_000;

    /// <summary>
    /// Bytes queued for a client and not yet taken by its socket, beyond which the client is
    /// considered not to be reading and the connection is closed (a stream-managed session then
    /// hibernates, as on any connection loss). Config: network_settings = { max_send_buffer_size = … }.
    /// </summary>
    public long MaxSendBufferBytes { get; init; } = DefaultMaxSendBufferBytes;

    /// <summary>
    /// Bounds on unwritten output per account and in total, shared by every client listener
    /// (network_settings max_send_buffer_per_account / max_send_buffer_total); null: none.
    /// </summary>
    public OutputBounds? Output { get; init; }

    /// <summary>
    /// How long a flush may take no bytes before the client counts as not reading and the
    /// connection is closed (network_settings send_timeout, seconds; Prosody's server_epoll
    /// default is 180). Null or zero: no deadline.
    /// </summary>
    public TimeSpan? SendDeadline { get; init; } = DefaultSendDeadline;

    /// <summary>60 s without progress (the figure; Prosody waits 180 s).</summary>
    public static readonly TimeSpan DefaultSendDeadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// 16 MiB. Prosody 0.12's net.server_epoll has no such bound (only send_timeout: 180 s without
    /// the socket becoming writable), so there a dead reader's buffer grows until that timeout.
    /// The budget must hold the largest burst the server itself produces in one loop turn, or a
    /// client that reads perfectly well over a slow link would be cut: a stream-management resume
    /// re-sends the whole unacked queue (at most smacks_max_queue_size × 2 KiB, 1 000 KiB by default), and
    /// an archive page is max_archive_query_results (50) stanzas of up to c2s_stanza_size_limit
    /// (256 KiB), 12.5 MiB. 16 MiB covers both; a dead reader then pins at most that much of our
    /// memory, plus the kernel's send buffer (bounded by net.ipv4.tcp_wmem, 4 MiB by default).
    /// </summary>
    public const long DefaultMaxSendBufferBytes = 16L * 1024 * 1024;
}
