using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Network;
using LuaXmpp.Routing;
using LuaXmpp.Sasl;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.C2s;

/// <summary>
/// The c2s stream protocol (RFC 6120 §4–7) for one connection, on the loop thread: answers
/// stream headers with features, negotiates STARTTLS, SASL and resource binding, and hands every
/// other element to the router. Prosody splits this over mod_c2s, mod_tls and mod_saslauth; the
/// events they fire (stream-features, authentication-success/failure, resource-bind) fire here.
/// </summary>
public sealed partial class ClientStreamHandler : IStreamHandler
{
    private readonly C2sServices _services;
    private readonly ClientConnection _connection;
    private readonly Func<string, bool> _hasCertificate;
    private readonly AuthFailureThrottle _throttle;
    private ClientSession? _session;
    private HostContext? _host;
    private ClientStreamSettings? _settings;
    private DataTable? _streamAttributes;

    public ClientStreamHandler(C2sServices services, ClientConnection connection, Func<string, bool> hasCertificate, AuthFailureThrottle throttle)
    {
        _services = services;
        _connection = connection;
        _hasCertificate = hasCertificate;
        _throttle = throttle;
        connection.Drained += OnDrained;
    }

    public ClientSession? Session => _session;

    public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header)
    {
        var attrs = header.Header;
        if (header.DefaultNamespace != Namespaces.Client)
            return Fail(StreamErrorCondition.InvalidNamespace, "This is a client port: the stream namespace must be jabber:client");
        var to = attrs.GetAttribute("to");
        var host = to is null ? null : JidPrep.Nameprep(to);
        if (host is null)
            return Fail(StreamErrorCondition.ImproperAddressing, "A valid 'to' attribute is required on stream headers");
        if (_session is not null && _session.Host != host)
            return Fail(StreamErrorCondition.NotAuthorized, "The 'to' attribute must remain the same across stream restarts");
        var hostContext = _services.FindHost(host);
        if (hostContext is null || hostContext.IsComponent)
            return Fail(StreamErrorCondition.HostUnknown, "This server does not serve " + host);
        // RFC 6120 §4.7.5: a missing version means pre-1.0; we speak only 1.x.
        if (!IsVersionOne(attrs.GetAttribute("version")))
            return Fail(StreamErrorCondition.UnsupportedVersion, "XMPP 1.0 streams are required");

        if (_session is null)
        {
            _host = hostContext;
            _settings = ClientStreamSettings.For(_services.Config, host);
            _connection.ServerName = host;
            _session = new ClientSession(host, _connection) { LuaAuthFailed = OnLuaAuthFailed };
            _services.Sessions.Register(_session);
            _session.Log.Info($"Client connected from {_connection.RemoteAddress}");
        }
        // Prosody's stream-features event carries the header's attributes as event.stream
        // (mod_sasl2_fast reads the 'from' a client names itself with).
        _streamAttributes = new DataTable { ["to"] = to, ["from"] = attrs.GetAttribute("from"), ["version"] = attrs.GetAttribute("version") };
        ReadStreamLanguage(attrs);
        SendHeader(host);
        var features = BuildFeatures(out var fired);
        if (!fired.IsCompletedSuccessfully) return SendFeaturesAfterAsync(features, fired);
        _connection.Send(features);
        return Continue;
    }

    /// <summary>
    /// A stream-features handler waited (contract §0.8: a Lua handler reading storage, or
    /// util.async): the features go out once the whole chain has added to them. The connection
    /// reads nothing more from this client meanwhile (it awaits the header's handling).
    /// </summary>
    private async Task<StreamAction> SendFeaturesAfterAsync(XmlElement features, ValueTask<object?> fired)
    {
        await fired;
        if (_connection.IsClosed) return StreamAction.Close;
        _connection.Send(features);
        return StreamAction.Continue;
    }

    public Task<StreamAction> OnElementAsync(XmlElement element)
    {
        if (_session is null) return Fail(StreamErrorCondition.NotWellFormed, "Stream header expected");
        if (_session.InputPaused is { IsCompleted: false } paused) return HandleAfterAsync(paused, element);
        StampLanguage(element);
        if (TryHandleStreamManagement(element, out var handled)) return handled;
        var counted = CountedInbound(element);
        if (_session.IncomingFilters.Count > 0)
        {
            if (_session.FilterIncoming(element) is not { } filtered)
            {
                counted?.CountInbound(element);
                return Continue;
            }
            element = filtered;
        }
        switch (element.Namespace)
        {
            case Namespaces.Tls:
                return Task.FromResult(HandleStartTls(element));
            case Namespaces.Sasl:
                return HandleSaslAsync(element);
        }
        if (element.Namespace == Namespaces.Client && element.Name == "iq" && _session.Username is not null && _session.FullJid is null)
        {
            if (element.Element("bind", Namespaces.Bind) is { } bind) return HandleBindAsync(element, bind);
        }
        if (element.Namespace == Namespaces.Client && element.Name == "iq" && element.Element("session", Namespaces.Session) is not null
            && _session.FullJid is not null)
        {
            // RFC 3921 §3 legacy session establishment: nothing left to do, say yes.
            _session.Send(StanzaReply.Result(element));
            counted?.CountInbound(element);
            return Continue;
        }
        if (_session.Username is null && element.Namespace == Namespaces.Sasl2) return LuaSaslPassAsync(element, counted);
        // One pass per stanza (Prosody's core_process_stanza in the session's runner): the
        // connection hands over the next element only when this pass has finished, waits included,
        // so the session's stanzas stay in order.
        return PassAsync(element, counted);
    }

    private Task<StreamAction> PassAsync(XmlElement element, StreamManagementController? counted)
    {
        var pass = _services.Router.ProcessAsync(_session!, element);
        if (!pass.IsCompletedSuccessfully) return AfterPassAsync(pass, counted, element);
        pass.GetAwaiter().GetResult();
        counted?.CountInbound(element);
        AdoptResumedSession();
        return Continue;
    }

    private async Task<StreamAction> AfterPassAsync(ValueTask pass, StreamManagementController? counted, XmlElement element)
    {
        try
        {
            await pass;
        }
        finally
        {
            // XEP-0198 §4: h counts a stanza only once it is handled — here, once its pass (the
            // offline write, a strict archive commit) has finished — so what <a h/> acknowledges is durable.
            counted?.CountInbound(element);
            AdoptResumedSession();
        }
        return StreamAction.Continue;
    }

    private async Task<StreamAction> HandleAfterAsync(Task paused, XmlElement element)
    {
        await paused;
        return await OnElementAsync(element);
    }

    public Task OnStreamEndAsync()
    {
        if (!OwnsSession) return Task.CompletedTask;
        _session.Log.Info("Client disconnected: client closed the stream");
        _services.Sessions.Destroy(_session, "Client closed the stream");
        return Task.CompletedTask;
    }

    public Task OnDisconnectedAsync(string reason)
    {
        if (!OwnsSession) return Task.CompletedTask;
        if (!_session.Destroyed) _session.Log.Info($"Client disconnected: {reason}");
        var e = new EventData(_session);
        e["session"] = _session;
        e["reason"] = reason;
        // Stream management hooks this to hibernate the session instead of ending it; a handler
        // may wait, and the session is destroyed only once the chain said nobody kept it.
        if (_host is null)
        {
            _services.Sessions.Destroy(_session, reason);
            return Task.CompletedTask;
        }
        var fired = _host.Events.FireAsync("c2s-ondisconnect", e);
        if (!fired.IsCompletedSuccessfully) return DestroyUnlessKeptAsync(fired, reason);
        if (fired.Result is null) _services.Sessions.Destroy(_session, reason);
        return Task.CompletedTask;
    }

    private async Task DestroyUnlessKeptAsync(ValueTask<object?> fired, string reason)
    {
        if (await fired is null) _services.Sessions.Destroy(_session!, reason);
    }

    private StreamAction HandleStartTls(XmlElement element)
    {
        if (element.Name != "starttls" || _connection.IsSecure || !_hasCertificate(_session!.Host))
        {
            _connection.Send(new XmlElement("failure", Namespaces.Tls));
            _connection.Close();
            return StreamAction.Close;
        }
        _connection.Send(new XmlElement("proceed", Namespaces.Tls));
        return StreamAction.StartTls;
    }

    private XmlElement BuildFeatures(out ValueTask<object?> fired)
    {
        var session = _session!;
        var features = new XmlElement("features", Namespaces.Streams);
        bool secure = _connection.IsSecure;
        if (session.Username is null)
        {
            if (!secure && _hasCertificate(session.Host))
            {
                var starttls = features.AddChild("starttls", Namespaces.Tls);
                if (_settings!.RequireEncryption) starttls.AddChild("required", Namespaces.Tls);
            }
            if (secure || !_settings!.RequireEncryption)
            {
                var served = _services.Auth(session.Host).SaslMechanisms;
                // None at all (an auth module that did not load): no <mechanisms/>, as Prosody.
                var offered = SaslMechanisms.Offered(secure, _settings!.AllowUnencryptedPlain, served).ToList();
                var mechanisms = offered.Count > 0 ? features.AddChild("mechanisms", Namespaces.Sasl) : null;
                foreach (var name in offered) mechanisms!.AddTextChild("mechanism", name, Namespaces.Sasl);
            }
        }
        else if (session.FullJid is null)
        {
            features.AddChild("bind", Namespaces.Bind);
            features.AddChild("session", Namespaces.Session).AddChild("optional", Namespaces.Session);
        }
        var e = new EventData(session);
        e["features"] = features;
        e["stream"] = _streamAttributes;
        fired = _host!.Events.FireAsync("stream-features", e);
        return features;
    }

    private void SendHeader(string host)
    {
        _session!.StreamId = Guid.NewGuid().ToString("N");
        _connection.SendRaw(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
            $"id='{_session.StreamId}' from='{host}' version='1.0' xml:lang='en'>");
        _connection.HeaderSent = true;
    }

    private static bool IsVersionOne(string? version)
    {
        if (version is null) return false;
        var major = version.Split('.')[0];
        return int.TryParse(major, out var m) && m >= 1;
    }

    private Task<StreamAction> Fail(StreamErrorCondition condition, string text)
    {
        _connection.Close(condition, text);
        return Task.FromResult(StreamAction.Close);
    }

    private static Task<StreamAction> Continue => Task.FromResult(StreamAction.Continue);
}
