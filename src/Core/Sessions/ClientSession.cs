using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sessions;

/// <summary>
/// A client-to-server session (RFC 6120 §4–7, Prosody's c2s session table): the stream state,
/// the authenticated identity, the bound resource and the presence state. Loop-thread owned.
/// </summary>
public sealed class ClientSession : Session
{
    private static long _nextId;

    public ClientSession(string host, IClientConnection connection)
        : this(Interlocked.Increment(ref _nextId), host, connection)
    {
    }

    private ClientSession(long id, string host, IClientConnection connection)
        : base("c2s_unauthed", host, Logger.For("c2s" + id.ToString("x")))
    {
        Id = id;
        Connection = connection;
    }

    public long Id { get; }

    /// <summary>The transport. Replaced when a stream-management resume moves the session to a new connection.</summary>
    public IClientConnection? Connection { get; set; }

    /// <summary>Stream id we sent in our stream header.</summary>
    public string? StreamId { get; set; }

    public bool Secure => Connection?.IsSecure ?? false;

    /// <summary>The authenticated localpart (session.username), null before SASL success.</summary>
    public string? Username
    {
        get => _username;
        set { _username = value; IdentityChanged?.Invoke(this); }
    }

    private string? _username;
    private string? _resource;
    private Jid? _fullJid;
    private bool _destroyed;

    /// <summary>
    /// Told when a SASL exchange that Lua runs (mod_sasl2, XEP-0388) fails, with the username it
    /// named (if any) and the condition: the stream handler logs it and feeds its throttle, as
    /// for the native SASL.
    /// </summary>
    public Action<string?, string>? LuaAuthFailed { get; set; }

    public string? Resource
    {
        get => _resource;
        set { _resource = value; IdentityChanged?.Invoke(this); }
    }

    /// <summary>user@host/resource once bound (session.full_jid).</summary>
    public Jid? FullJid
    {
        get => _fullJid;
        set { _fullJid = value; IdentityChanged?.Invoke(this); }
    }

    public Jid? BareJid => FullJid?.Bare;

    /// <summary>Priority of the last available presence (session.priority); null when not available.</summary>
    public int? Priority { get; set; }

    private XmlElement? _presence;
    private Func<XmlElement?>? _presenceReader;

    /// <summary>
    /// The last initial/available presence broadcast (session.presence); null when unavailable.
    /// When a Lua module set it, the Lua stanza is the one copy (modules change it in place) and
    /// this reads it through <see cref="SetPresenceOwnedElsewhere"/>'s reader, converting on demand.
    /// </summary>
    public XmlElement? Presence
    {
        get => _presence ?? _presenceReader?.Invoke();
        set
        {
            _presence = value;
            _presenceReader = null;
        }
    }

    /// <summary>True while session.presence is held by the Lua side (see <see cref="Presence"/>).</summary>
    public bool PresenceOwnedElsewhere => _presenceReader is not null;

    /// <summary>Marks session.presence as held elsewhere (the Lua table), read on demand through <paramref name="reader"/>.</summary>
    public void SetPresenceOwnedElsewhere(Func<XmlElement?> reader)
    {
        _presence = null;
        _presenceReader = reader;
    }

    /// <summary>Available: a presence is set (checked without converting a Lua-held one).</summary>
    public bool IsAvailable => _presence is not null || _presenceReader is not null;

    /// <summary>The account's roster (Prosody's session.roster, a Roster.Roster), kept after the last resource unbinds.</summary>
    public object? Roster { get; set; }

    /// <summary>The client fetched the roster, so it gets roster pushes (session.interested).</summary>
    public bool Interested { get; set; }

    /// <summary>Directed presences sent to entities not subscribed (session.directed).</summary>
    public HashSet<string> Directed { get; } = new(StringComparer.Ordinal);

    /// <summary>Set once the session is being destroyed; nothing more is delivered to it.</summary>
    public bool Destroyed
    {
        get => _destroyed;
        set { _destroyed = value; IdentityChanged?.Invoke(this); }
    }

    /// <summary>XEP-0198 state, once the client enabled stream management (mod_smacks sets it up).</summary>
    public StreamManagementController? StreamManagement { get; set; }

    /// <summary>
    /// Set on a fresh session whose connection resumed another (XEP-0198 §5): the session that
    /// now owns the connection. The stream handler switches to it.
    /// </summary>
    public ClientSession? MovedTo { get; set; }

    /// <summary>
    /// Filters on outgoing elements, in order (session.filter "stanzas/out"). A filter returns
    /// the element to send (possibly another one) or null to drop it. Stream management hooks in here.
    /// </summary>
    public List<Func<XmlElement, XmlElement?>> OutgoingFilters { get; } = new();

    /// <summary>
    /// Filters on every incoming top-level element, before it is handled (Prosody's
    /// session.filter "stanzas/in", called by mod_c2s for each element). A filter returns the
    /// element to handle (possibly another one) or null to drop it.
    /// </summary>
    public List<Func<XmlElement, XmlElement?>> IncomingFilters { get; } = new();

    /// <summary>
    /// While set and not completed, no further input of this session is handled: a handler of an
    /// earlier element is waiting (Prosody pauses the connection while the session's util.async
    /// runner waits, so stanzas stay in order).
    /// </summary>
    public Task? InputPaused { get; set; }

    /// <summary>Runs <see cref="IncomingFilters"/>; null when one of them dropped the element.</summary>
    public XmlElement? FilterIncoming(XmlElement element)
    {
        XmlElement? current = element;
        foreach (var filter in IncomingFilters)
        {
            current = filter(current);
            if (current is null) return null;
        }
        return current;
    }

    /// <summary>
    /// True when nothing sent to this session can be delivered: its connection drops output
    /// (closed, or reset by the peer, while its disconnect waits in the deferred lane) and no
    /// stream management queue would keep it for a resumption (XEP-0198 §5). Broadcasts skip
    /// such sessions instead of building stanzas for them (issue 16 item 7: a thousand resources
    /// of one account reset at once would otherwise send each other a million presences).
    /// </summary>
    public bool Unreachable => StreamManagement is not { Enabled: true } && Connection is { DropsOutput: true };

    /// <summary>
    /// <see cref="Unreachable"/>, asking the transport when its read loop has not yet seen the
    /// peer go (<see cref="IClientConnection.ProbeDropsOutput"/>): for a going resource's
    /// broadcast to its siblings.
    /// </summary>
    public bool ProbeUnreachable() => StreamManagement is not { Enabled: true } && Connection is { } c && c.ProbeDropsOutput();

    public override void Send(XmlElement element)
    {
        XmlElement? current = element;
        foreach (var filter in OutgoingFilters)
        {
            current = filter(current);
            if (current is null) return;
        }
        if (current.Name == "iq" && current.GetAttribute("type") == "error") LogErrorReply(current);
        Connection?.Send(current);
    }

    // Bad input from a client is answered with a stanza error (RFC 6120 §8.3), whichever module
    // answered it; one debug line per error sent names the condition, so an operator tracing a
    // client sees what it keeps getting wrong without every module logging it.
    private void LogErrorReply(XmlElement iq)
    {
        if (!Log.IsEnabled(LogLevel.Debug)) return;
        var error = iq.Element("error");
        var condition = error?.Elements().FirstOrDefault(e => e.Namespace == Namespaces.Stanzas)?.Name ?? "no condition";
        Log.Debug($"Sending iq error {error?.GetAttribute("type")}/{condition} for id '{iq.GetAttribute("id")}' from {iq.GetAttribute("from")}");
    }

    public void Close(StreamErrorCondition? error = null, string? text = null) => Connection?.Close(error, text);

    public override string ToString() => FullJid?.ToString() ?? $"c2s{Id:x}";
}
