using LuaXmpp.Xml;

namespace LuaXmpp.Sessions;

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

    /// <summary>Queues raw text (stream header, whitespace keepalive); never blocks.</summary>
    void SendRaw(string text);

    /// <summary>
    /// Sends a stream error (if given) and the stream close, flushes and closes the socket.
    /// Idempotent.
    /// </summary>
    void Close(StreamErrorCondition? error = null, string? text = null);
}
