using LuaXmpp.Xml;

namespace LuaXmpp.Network;

/// <summary>
/// The transport under a client session, as the session sees it. Implemented by the network
/// layer; thread-safe: the loop enqueues, the connection's writer serializes off the loop.
/// </summary>
public interface IClientConnection
{
    /// <summary>Remote IP address, for logs and per-IP limits.</summary>
    string RemoteAddress { get; }

    /// <summary>True once TLS is up (STARTTLS done, or a direct TLS port).</summary>
    bool IsSecure { get; }

    /// <summary>Queues an element for writing; never blocks.</summary>
    void Send(XmlElement element);

    /// <summary>
    /// Queues a stanza serialized by <see cref="XmlElementWriter"/> in the jabber:client default
    /// namespace, as the XEP-0198 queue keeps what it sent; never blocks. The array is the
    /// caller's and stays unchanged: a resume re-sends what the queue still holds.
    /// </summary>
    void SendSerialized(byte[] xml) => Send(Storage.StoredXml.Parse(xml));

    /// <summary>Queues raw text (stream header, whitespace keepalive); never blocks.</summary>
    void SendRaw(string text);

    /// <summary>
    /// Sends a stream error (if given) and the stream close, flushes and closes the socket.
    /// Idempotent.
    /// </summary>
    void Close(StreamErrorCondition? error = null, string? text = null);

    /// <summary>
    /// True once nothing sent can reach the peer any more (the connection is closed, or the peer
    /// reset it): <see cref="Send"/> then drops everything. Read from the loop thread while the
    /// network side sets it, ahead of the deferred disconnect.
    /// </summary>
    bool DropsOutput => false;

    /// <summary>
    /// Completes once everything queued before the call has been handed to the transport (or
    /// the connection closed); possibly on another thread. XEP-0198 resumption waits for its
    /// &lt;resumed/&gt; to be out before re-sending the queue.
    /// </summary>
    Task WhenWritten() => Task.CompletedTask;

    /// <summary>
    /// As <see cref="DropsOutput"/>, but also asks the transport whether the peer has already
    /// closed or reset it when the read loop has not seen that yet (a thousand resets arrive
    /// before their read completions are processed). One system call; for the broadcasts of a
    /// going resource, not for every send.
    /// </summary>
    bool ProbeDropsOutput() => DropsOutput;

    /// <summary>
    /// Holds whatever is queued from now on until <see cref="ResumeWrites"/> (Prosody's
    /// conn:pause_writes, which mod_csi_simple calls while a client is inactive, XEP-0352).
    /// Held bytes count against the connection's output bounds. Idempotent.
    /// </summary>
    void PauseWrites() { }

    /// <summary>Writes what was held, in order, then everything queued after it. Idempotent.</summary>
    void ResumeWrites() { }

    /// <summary>
    /// Paces reading from the client to this many bytes per second, 0 for no limit (Prosody's
    /// conn:setlimit, which mod_limits calls).
    /// </summary>
    void SetReadLimit(double bytesPerSecond) { }
}
