using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.S2s;

/// <summary>
/// One server-to-server stream, Prosody's s2s session: type "s2sin_unauthed"/"s2sin" or
/// "s2sout_unauthed"/"s2sout", with from_host, to_host and direction. Lua reads the other
/// facts (from_host, to_host, direction, secure, cert_chain_status, cert_identity_status,
/// streamid) from <see cref="Session.Fields"/>.
/// </summary>
public sealed class S2sSession : Session
{
    private readonly Action<XmlElement>? _routeBack;

    /// <param name="localHost">Our host on this stream (from_host outgoing, to_host incoming).</param>
    /// <param name="routeBack">Incoming streams carry nothing back (RFC 6120 §2.5): a reply goes out through route/remote.</param>
    public S2sSession(bool outgoing, string localHost, ClientConnection connection, Action<XmlElement>? routeBack = null)
        : base(outgoing ? "s2sout_unauthed" : "s2sin_unauthed", localHost, Logger.For(localHost + (outgoing ? ":s2sout" : ":s2sin")))
    {
        Outgoing = outgoing;
        Connection = connection;
        _routeBack = routeBack;
        Fields["direction"] = outgoing ? "outgoing" : "incoming";
        if (outgoing) FromHost = localHost;
        else ToHost = localHost;
    }

    public bool Outgoing { get; }

    public ClientConnection Connection { get; }

    /// <summary>Remote domains an incoming stream has authenticated (dialback may add several, XEP-0220 §2.6).</summary>
    public HashSet<string> AuthenticatedHosts { get; } = new(StringComparer.Ordinal);

    public bool Established => Type is "s2sin" or "s2sout";

    public bool Destroyed { get; set; }

    public string? FromHost
    {
        get => Fields.GetValueOrDefault("from_host") as string;
        set => Fields["from_host"] = value;
    }

    public string? ToHost
    {
        get => Fields.GetValueOrDefault("to_host") as string;
        set => Fields["to_host"] = value;
    }

    public string? StreamId
    {
        get => Fields.GetValueOrDefault("streamid") as string;
        set => Fields["streamid"] = value;
    }

    /// <summary>The remote domain of the stream.</summary>
    public string? RemoteHost => Outgoing ? ToHost : FromHost;

    public void MarkSecure(PeerCertificateStatus status)
    {
        Fields["secure"] = true;
        Fields["encrypted"] = true;
        Fields["cert_chain_status"] = status.ChainValid ? "valid" : "invalid";
        Fields["cert_identity_status"] = status.IdentityValid ? "valid" : "invalid";
        Certificate = status;
    }

    public PeerCertificateStatus? Certificate { get; private set; }

    /// <summary>How the stream was first authenticated ("dialback", "EXTERNAL"); null until then.</summary>
    public string? Mechanism { get; set; }

    public override void Send(XmlElement element)
    {
        if (Outgoing || _routeBack is null) Connection.Send(element);
        else _routeBack(element);
    }
}
