namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>
/// Per-session limits and thresholds, from mod_smacks' options (smacks_max_queue_size and
/// friends). Zero for <see cref="MaxAckDelay"/> disables the "smacks-ack-delayed" timer.
/// </summary>
public sealed record StreamManagementLimits(
    int MaxQueueSize = 500,
    long MaxQueueBytes = 500 * StreamManagementLimits.QueueBytesPerStanza,
    int MaxUnackedStanzas = 0,
    int MaxInactiveUnackedStanzas = 256,
    TimeSpan MaxAckDelay = default)
{
    /// <summary>
    /// The queue's byte bound per stanza of smacks_max_queue_size (UTF-8 as sent): 1 000 KiB for
    /// the default 500. Prosody bounds its queue only by count; the byte bound keeps what one session
    /// that never acks can hold small (issue 16, item 2: with 16 KiB per stanza a queue of 20 KB
    /// messages held 16 MiB), while 500 ordinary chat messages still fit. Raising
    /// smacks_max_queue_size raises it too.
    /// </summary>
    public const long QueueBytesPerStanza = 2 * 1024;

    public static long QueueBytesFor(int maxQueueSize) => Math.Max(1L, maxQueueSize) * QueueBytesPerStanza;
}
