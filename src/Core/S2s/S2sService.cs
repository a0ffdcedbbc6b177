using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Configuration;
using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using LuaXmpp.Network;
using LuaXmpp.Routing;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.S2s;

/// <summary>
/// Server-to-server federation, Prosody's mod_s2s and mod_dialback in C#: takes route/remote
/// on every host (priority -1, so Lua modules hooking it earlier see stanzas first), keeps one
/// outgoing route per (local host, remote domain), accepts incoming streams, runs dialback
/// between them, and fires Prosody's s2s events (s2s-created, s2s-authenticated,
/// s2sout-established, s2sin-established, s2s-closed) with the session. Loop-thread only.
/// </summary>
public sealed class S2sService
{
    private readonly Dictionary<(string From, string To), OutgoingRoute> _routes = new();
    private readonly HashSet<S2sSession> _sessions = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, (S2sSession Incoming, string Key)> _verifying = new(StringComparer.Ordinal);
    private readonly Func<string?, X509Certificate2?> _certificateFor;
    private readonly Func<string, bool> _hasCertificate;

    private readonly IHostDirectory _hosts;
    private readonly IConfigManager _config;

    /// <summary>
    /// Takes what federation uses of the server: the hosts (to accept streams and route replies
    /// for), the config (read at use), the router, prosody.events (the s2s events) and the loop.
    /// </summary>
    public S2sService(IHostDirectory hosts, IConfigManager config, StanzaRouter router, EventBus globalEvents, ServerLoop loop,
        S2sSettings settings, StaticDnsRecords records,
        Func<string?, X509Certificate2?> certificateFor, Func<string, bool> hasCertificate)
    {
        _hosts = hosts;
        _config = config;
        Router = router;
        GlobalEvents = globalEvents;
        Loop = loop;
        Settings = settings;
        _certificateFor = certificateFor;
        _hasCertificate = hasCertificate;
        Verifier = new CertificateVerifier(settings);
        Resolver = new S2sResolver(records, settings);
    }

    /// <summary>The config in force (a reload replaces it).</summary>
    public ServerConfig Config => _config.Config;

    public StanzaRouter Router { get; }

    /// <summary>prosody.events.</summary>
    public EventBus GlobalEvents { get; }

    public S2sSettings Settings { get; }

    public CertificateVerifier Verifier { get; }

    public S2sResolver Resolver { get; }

    public ServerLoop Loop { get; }

    public Logger Log { get; } = Logger.For("s2s");

    /// <summary>Every s2s session, incoming and outgoing (Prosody's prosody.incoming_s2s and the s2sout tables).</summary>
    public IReadOnlyCollection<S2sSession> Sessions => _sessions;

    public bool HasCertificate(string host) => _hasCertificate(host);

    /// <summary>A local host that is up (Prosody's <c>hosts[name]</c>), or null.</summary>
    public HostContext? FindHost(string name) => _hosts.FindHost(name);

    /// <summary>Hooks route/remote on every active host, as Prosody's mod_s2s does on each host it serves.</summary>
    public void Attach()
    {
        foreach (var host in _hosts.Hosts.Values) host.Events.Hook("route/remote", RouteRemote, -1, this);
    }

    /// <summary>Options for an incoming connection on s2s_ports.</summary>
    public ConnectionOptions IncomingOptions(ConnectionOptions baseOptions) => baseOptions with
    {
        Service = "s2s",
        CertificateFor = _certificateFor,
        RequestPeerCertificate = true,
        UnauthenticatedStanzaLimit = Settings.UnauthenticatedStanzaSizeLimit,
        UnauthenticatedTimeout = Settings.Timeout,
    };

    internal ConnectionOptions OutgoingOptions(string to) => new()
    {
        CertificateFor = _certificateFor,
        OutgoingTlsTarget = to,
        UnauthenticatedStanzaLimit = Settings.UnauthenticatedStanzaSizeLimit,
        UnauthenticatedTimeout = null,
    };

    public IStreamHandler CreateIncomingHandler(ClientConnection connection) => new S2sInStreamHandler(this, connection);

    private object? RouteRemote(EventData e)
    {
        if (e["from_host"] is not string from || e["to_host"] is not string to || e.Stanza is not { } stanza) return null;
        if (FindHost(from) is null || FindHost(to) is not null) return null;
        Route(from, to, stanza);
        return true;
    }

    /// <summary>Sends a stanza from one of our hosts to a remote domain, opening the route if needed.</summary>
    public void Route(string from, string to, XmlElement stanza) => RouteFor(from, to).Send(stanza);

    private OutgoingRoute RouteFor(string from, string to)
    {
        if (_routes.TryGetValue((from, to), out var route)) return route;
        route = new OutgoingRoute(this, from, to);
        _routes[(from, to)] = route;
        Log.Debug($"Opening a new outgoing connection {from}->{to}");
        var e = new EventData();
        e["from_host"] = from;
        e["to_host"] = to;
        FindHost(from)?.Events.Fire("s2sout-created", e);
        route.Start();
        return route;
    }

    internal void RouteEnded(OutgoingRoute route, string reason)
    {
        if (_routes.TryGetValue((route.From, route.To), out var current) && ReferenceEquals(current, route)) _routes.Remove((route.From, route.To));
        Log.Debug($"Outgoing route {route.From}->{route.To} ended: {reason}");
    }

    /// <summary>RFC 6120 §8.3.3: what could not be delivered comes back to its senders as errors.</summary>
    internal void Bounce(string localHost, IEnumerable<XmlElement> stanzas, StanzaError error)
    {
        if (FindHost(localHost) is not { } host) return;
        foreach (var stanza in stanzas)
        {
            var type = stanza.GetAttribute("type");
            if (type is "error" or "result" || stanza.Namespace != Namespaces.Client) continue;
            var reply = StanzaReply.Error(stanza, error);
            reply.Element("error")?.SetAttribute("by", localHost);
            Router.Route(host.Session, reply);
        }
    }

    internal void Created(S2sSession session)
    {
        _sessions.Add(session);
        GlobalEvents.Fire("s2s-created", SessionEvent(session));
    }

    /// <summary>The peer proved a domain (dialback or EXTERNAL): the stream carries stanzas for it from now on.</summary>
    internal void Authenticated(S2sSession session, string remote, string mechanism)
    {
        session.AuthenticatedHosts.Add(remote);
        var e = SessionEvent(session);
        e["host"] = remote;
        e["mechanism"] = mechanism;
        FindHost(session.Host)?.Events.Fire("s2s-authenticated", e);
        if (session.Established) return;
        session.Mechanism = mechanism;
        session.Type = session.Outgoing ? "s2sout" : "s2sin";
        session.Connection.MarkAuthenticated(Settings.StanzaSizeLimit);
        session.Log.Info($"{(session.Outgoing ? "Outgoing" : "Incoming")} s2s connection {session.FromHost}->{session.ToHost} complete ({mechanism})");
        var name = session.Outgoing ? "s2sout-established" : "s2sin-established";
        GlobalEvents.Fire(name, SessionEvent(session));
        FindHost(session.Host)?.Events.Fire(name, SessionEvent(session));
    }

    /// <summary>XEP-0220 §2.4: tells the originating server it passed.</summary>
    internal void DialbackSucceeded(S2sSession incoming, string remote, string local)
    {
        Authenticated(incoming, remote, "dialback");
        incoming.Connection.Send(new XmlElement("result", S2sNamespaces.Dialback)
            .SetAttribute("from", local).SetAttribute("to", remote).SetAttribute("type", "valid"));
    }

    /// <summary>XEP-0220 §2.3: asks the authoritative server whether the key is its own, over our route to it.</summary>
    internal void RequestVerify(S2sSession incoming, string remote, string local, string streamId, string key)
    {
        _verifying[remote + "/" + streamId] = (incoming, key);
        var verify = new XmlElement("verify", S2sNamespaces.Dialback).SetAttribute("from", local).SetAttribute("to", remote).SetAttribute("id", streamId);
        verify.AddText(key);
        incoming.Log.Debug($"Asking {remote} whether the dialback key is theirs");
        RouteFor(local, remote).SendVerify(verify);
    }

    internal void OnVerifyAnswer(S2sSession outgoing, XmlElement answer)
    {
        var from = answer.GetAttribute("from");
        var id = answer.GetAttribute("id") ?? "";
        if (from is null || from != outgoing.ToHost || !_verifying.Remove(from + "/" + id, out var pending)) return;
        var (incoming, _) = pending;
        if (incoming.Destroyed) return;
        if (answer.GetAttribute("type") == "valid")
        {
            DialbackSucceeded(incoming, from, outgoing.FromHost!);
            return;
        }
        incoming.Log.Warn($"Authoritative server for {from} denied the dialback key");
        incoming.Connection.Send(new XmlElement("result", S2sNamespaces.Dialback)
            .SetAttribute("from", outgoing.FromHost).SetAttribute("to", from).SetAttribute("type", "invalid"));
    }

    internal void Closed(S2sSession session, string reason)
    {
        if (session.Destroyed) return;
        session.Destroyed = true;
        _sessions.Remove(session);
        session.Log.Info($"s2s {(session.Outgoing ? "outgoing" : "incoming")} connection {session.FromHost}->{session.ToHost} closed: {reason}");
        var e = SessionEvent(session);
        e["reason"] = reason;
        GlobalEvents.Fire("s2s-closed", e);
    }

    private static EventData SessionEvent(S2sSession session)
    {
        var e = new EventData(session);
        e["session"] = session;
        return e;
    }

    /// <summary>
    /// XEP-0198: stanzas a cut connection's peer never acknowledged are sent again over a new
    /// connection when smacks_s2s_resend is on (they may arrive twice then), else bounced with
    /// recipient-unavailable, as Prosody's mod_smacks does.
    /// </summary>
    internal void Unacknowledged(OutgoingRoute route, IReadOnlyList<XmlElement> stanzas)
    {
        bool resend = !_stopping && Config.GetBoolean(route.From, "smacks_s2s_resend", false);
        Log.Info($"{stanzas.Count} stanzas to {route.To} were not acknowledged when the connection ended; {(resend ? "sending them again" : "bouncing them")}");
        if (!resend)
        {
            Bounce(route.From, stanzas, new StanzaError("cancel", "recipient-unavailable", "Server-to-server connection lost"));
            return;
        }
        foreach (var stanza in stanzas) Route(route.From, route.To, stanza);
    }

    private bool _stopping;

    /// <summary>Closes every s2s stream (shutdown).</summary>
    public void CloseAll(StreamErrorCondition condition, string reason)
    {
        _stopping = true;
        foreach (var session in _sessions.ToArray()) session.Connection.Close(condition, reason);
    }
}
