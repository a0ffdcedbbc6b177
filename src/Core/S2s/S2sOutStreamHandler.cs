using System.Text;
using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.S2s;

/// <summary>
/// The initiating side of an s2s stream (RFC 6120 §4–6), on the loop thread: opens the stream,
/// takes STARTTLS when offered (required unless s2s_require_encryption = false), then
/// authenticates with SASL EXTERNAL when the peer offers it (it does when our certificate
/// verified, XEP-0178), else with dialback (XEP-0220 §2.1). Once authenticated, the route's
/// queue is flushed. Stanzas never flow back on this stream (RFC 6120 §2.5).
/// </summary>
internal sealed class S2sOutStreamHandler : ITlsAwareStreamHandler
{
    private readonly S2sService _service;
    private readonly OutgoingRoute _route;
    private readonly S2sSession _session;
    private readonly ClientConnection _connection;
    private bool _saslSucceeded;
    private bool _triedExternal;
    private bool _peerOffersSm;

    public S2sOutStreamHandler(S2sService service, OutgoingRoute route, S2sSession session)
    {
        _service = service;
        _route = route;
        _session = session;
        _connection = session.Connection;
        _connection.ServerName = route.From;
        _service.Created(session);
        // XEP-0368: on a direct TLS connection the handshake is already done.
        if (_connection.IsSecure) OnTlsEstablished();
        else SendHeader();
    }

    private void SendHeader()
    {
        _connection.SendRaw(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' " +
            $"xmlns:stream='http://etherx.jabber.org/streams' from='{_route.From}' to='{_route.To}' version='1.0'>");
        _connection.HeaderSent = true;
    }

    public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header)
    {
        if (header.DefaultNamespace != S2sNamespaces.Server)
            return Fail(StreamErrorCondition.InvalidNamespace, "The stream namespace must be jabber:server");
        _route.HadStream = true;
        _session.StreamId = header.Header.GetAttribute("id");
        return Continue;
    }

    public Task<StreamAction> OnElementAsync(XmlElement element)
    {
        switch (element.Namespace, element.Name)
        {
            case (Namespaces.Streams, "features"):
                return OnFeatures(element);
            case (Namespaces.Streams, "error"):
                var condition = element.Elements().FirstOrDefault(e => e.Namespace == Namespaces.StreamErrors && e.Name != "text")?.Name ?? "undefined-condition";
                _session.Log.Warn($"Stream error from {_route.To}: {condition} {element.ChildText("text", Namespaces.StreamErrors)}");
                _route.Fail(new StanzaError("cancel", "remote-server-not-found", "Remote server closed the stream: " + condition), condition);
                return Task.FromResult(StreamAction.Close);
            case (Namespaces.Tls, "proceed"):
                return Task.FromResult(StreamAction.StartTls);
            case (Namespaces.Tls, _):
                return Fail(StreamErrorCondition.PolicyViolation, "TLS negotiation failed");
            case (Namespaces.Sasl, "success"):
                _saslSucceeded = true;
                _session.Log.Debug($"SASL EXTERNAL succeeded with {_route.To}");
                SendHeader();
                return Task.FromResult(StreamAction.Restart);
            case (Namespaces.Sasl, "failure"):
                // XEP-0178 §2: EXTERNAL refused; dialback may still do (XEP-0220).
                return StartDialback();
            case (S2sNamespaces.Dialback, "result"):
                return OnDialbackResult(element);
            case (S2sNamespaces.Dialback, "verify"):
                _service.OnVerifyAnswer(_session, element);
                return Continue;
            case (StreamManagementNamespaces.V3, _):
                return OnStreamManagement(element);
            default:
                _session.Log.Debug($"Ignoring <{element.Name} xmlns='{element.Namespace}'/> on an outgoing stream");
                return Continue;
        }
    }

    // XEP-0198 §4: acks for what we sent; nothing flows back on this stream, so our own h is 0.
    private Task<StreamAction> OnStreamManagement(XmlElement element)
    {
        var sm = _route.StreamManagement;
        switch (element.Name)
        {
            case "a" when sm is not null && !sm.Acknowledged(element):
                return Fail(StreamErrorCondition.UndefinedCondition, "Acknowledged more stanzas than were sent");
            case "r":
                _connection.Send(new XmlElement("a", StreamManagementNamespaces.V3).SetAttribute("h", "0"));
                break;
            case "failed":
                _session.Log.Debug($"{_route.To} refused stream management");
                sm?.Failed();
                break;
        }
        return Continue;
    }

    private bool WantsStreamManagement => _peerOffersSm && S2sStreamManagement.WantedFor(_service.Config, _route.From);

    private Task<StreamAction> OnFeatures(XmlElement features)
    {
        if (_session.Established) return Continue;
        _peerOffersSm |= features.Element("sm", StreamManagementNamespaces.V3) is not null;
        if (_saslSucceeded)
        {
            _service.Authenticated(_session, _route.To, "EXTERNAL");
            _route.OnEstablished(WantsStreamManagement);
            return Continue;
        }
        if (!_connection.IsSecure && features.Element("starttls", Namespaces.Tls) is not null)
        {
            _connection.Send(new XmlElement("starttls", Namespaces.Tls));
            return Continue;
        }
        if (!_connection.IsSecure && _service.Settings.RequireEncryption)
        {
            _route.Fail(StanzaError.RemoteServerNotFound("Encrypted server-to-server communication is required but was not offered"),
                "no STARTTLS offered", StreamErrorCondition.PolicyViolation);
            return Task.FromResult(StreamAction.Close);
        }
        var mechanisms = features.Element("mechanisms", Namespaces.Sasl);
        if (!_triedExternal && _connection.IsSecure && mechanisms?.Elements("mechanism", Namespaces.Sasl).Any(m => m.Text.Trim() == "EXTERNAL") == true)
        {
            _triedExternal = true;
            var auth = new XmlElement("auth", Namespaces.Sasl).SetAttribute("mechanism", "EXTERNAL");
            auth.AddText(Convert.ToBase64String(Encoding.UTF8.GetBytes(_route.From)));
            _connection.Send(auth);
            return Continue;
        }
        return StartDialback();
    }

    public void OnTlsEstablished()
    {
        var status = _service.Verifier.Verify(_connection.RemoteCertificate, _route.To);
        _session.MarkSecure(status);
        if (!status.Verified) _session.Log.Debug($"Certificate of {_route.To} not verified: {(status.IdentityValid ? "" : "name mismatch; ")}{status.ChainError}");
        if (_service.Settings.RequiresCertificate(_route.To) && !status.Verified)
        {
            _session.Log.Warn($"Refusing {_route.To}: its certificate could not be verified and s2s_secure_auth requires it");
            _route.Fail(StanzaError.RemoteServerNotFound("Could not verify the remote server's certificate"),
                "certificate not verified", StreamErrorCondition.PolicyViolation);
            return;
        }
        SendHeader();
    }

    private Task<StreamAction> StartDialback()
    {
        if (_service.Settings.RequiresCertificate(_route.To) && _session.Certificate?.Verified != true)
        {
            _route.Fail(StanzaError.RemoteServerNotFound("Could not authenticate the remote server securely"),
                "secure authentication not possible", StreamErrorCondition.PolicyViolation);
            return Task.FromResult(StreamAction.Close);
        }
        if (_session.StreamId is not { } streamId)
            return Fail(StreamErrorCondition.UndefinedCondition, "Dialback needs a stream id");
        var result = new XmlElement("result", S2sNamespaces.Dialback).SetAttribute("from", _route.From).SetAttribute("to", _route.To);
        result.AddText(DialbackKey.Generate(_service.Settings.DialbackSecret, _route.To, _route.From, streamId));
        _connection.Send(result);
        _route.CanSendDialback = true;
        _route.FlushVerifies();
        return Continue;
    }

    private Task<StreamAction> OnDialbackResult(XmlElement result)
    {
        if (result.GetAttribute("from") != _route.To || result.GetAttribute("to") != _route.From)
            return Fail(StreamErrorCondition.InvalidFrom, "Dialback result for another pair of domains");
        if (result.GetAttribute("type") == "valid")
        {
            _service.Authenticated(_session, _route.To, "dialback");
            _route.OnEstablished(WantsStreamManagement);
            return Continue;
        }
        _session.Log.Warn($"{_route.To} refused our dialback key");
        _route.Fail(StanzaError.RemoteServerNotFound("Dialback authentication failed"), "dialback failed", StreamErrorCondition.NotAuthorized);
        return Task.FromResult(StreamAction.Close);
    }

    public Task OnStreamEndAsync()
    {
        _connection.Close();
        return Task.CompletedTask;
    }

    public Task OnDisconnectedAsync(string reason)
    {
        _route.OnClosed(reason);
        _service.Closed(_session, reason);
        return Task.CompletedTask;
    }

    private Task<StreamAction> Fail(StreamErrorCondition condition, string text)
    {
        _route.Fail(StanzaError.RemoteServerNotFound(text), text, condition);
        return Task.FromResult(StreamAction.Close);
    }

    private static Task<StreamAction> Continue => Task.FromResult(StreamAction.Continue);
}
