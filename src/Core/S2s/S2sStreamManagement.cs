using LuaXmpp.Configuration;
using LuaXmpp.Loop;
using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;

namespace LuaXmpp.S2s;

/// <summary>
/// XEP-0198 acknowledgements on an outgoing s2s stream (no resumption on s2s, as in Prosody):
/// every stanza sent after &lt;enable/&gt; is kept until the peer's &lt;a h/&gt; covers it, acks
/// are requested shortly after each burst, and what is unacknowledged when the connection is
/// cut is re-sent over a new connection (smacks_s2s_resend) or bounced. Loop-thread only.
/// </summary>
internal sealed class S2sStreamManagement(ServerLoop loop, ClientConnection connection, int maxQueue)
{
    private static readonly TimeSpan RequestDelay = TimeSpan.FromMilliseconds(20);

    private readonly StreamManagementState _state = new(maxQueue, ConnectionOptions.DefaultMaxSendBufferBytes);
    private IDisposable? _request;

    public bool Enabled { get; private set; }

    /// <summary>mod_smacks is loaded on the host and smacks_enabled_s2s is not false (Prosody's defaults).</summary>
    public static bool WantedFor(ServerConfig config, string host) =>
        config.GetStringList(host, "modules_enabled").Contains("smacks") && config.GetBoolean(host, "smacks_enabled_s2s", true);

    public static int MaxQueueFor(ServerConfig config, string host) =>
        (int)Math.Clamp(config.GetNumber(host, "smacks_max_queue_size") ?? 500, 500, 100_000);

    /// <summary>Sends &lt;enable/&gt;; stanzas sent from now on are counted (XEP-0198 §3).</summary>
    public void Enable()
    {
        connection.Send(new XmlElement("enable", StreamManagementNamespaces.V3));
        Enabled = true;
    }

    public void Sent(XmlElement stanza)
    {
        if (!Enabled) return;
        _state.Enqueue(stanza.Clone());
        _request ??= loop.AddTimer(RequestDelay, RequestAck);
    }

    private TimeSpan? RequestAck()
    {
        _request = null;
        if (_state.Unacked > 0) connection.Send(new XmlElement("r", StreamManagementNamespaces.V3));
        return null;
    }

    /// <summary>Trims the queue; false when the peer acknowledged more than was sent.</summary>
    public bool Acknowledged(XmlElement a) =>
        uint.TryParse(a.GetAttribute("h"), out var h) && _state.Ack(h).Valid;

    /// <summary>The peer refused &lt;enable/&gt;: nothing more is counted.</summary>
    public void Failed() => Enabled = false;

    public IReadOnlyList<XmlElement> TakeUnacknowledged()
    {
        _request?.Dispose();
        _request = null;
        return Enabled ? _state.TakeUnacknowledged() : [];
    }
}
