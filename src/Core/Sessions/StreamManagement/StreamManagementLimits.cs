namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>
/// Per-session limits and thresholds, from mod_smacks' options (smacks_max_queue_size and
/// friends). Zero for <see cref="MaxAckDelay"/> disables the "smacks-ack-delayed" timer.
/// </summary>
public sealed record StreamManagementLimits(
    int MaxQueueSize = 500,
    long MaxQueueBytes = 4 * 1024 * 1024,
    int MaxUnackedStanzas = 0,
    int MaxInactiveUnackedStanzas = 256,
    TimeSpan MaxAckDelay = default);
