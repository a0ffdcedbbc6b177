using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Components;
using LuaXmpp.Events;
using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.S2s;

/// <summary>
/// The receiving side of an s2s stream on s2s_ports (RFC 6120), on the loop thread: offers
/// STARTTLS, then SASL EXTERNAL when the peer's certificate verifies for its domain (XEP-0178)
/// and dialback (XEP-0220); answers db:verify for keys we issued; and passes the peer's stanzas
/// into the one pipeline (<see cref="Routing.StanzaRouter.ProcessAsync"/>) only for domains the
/// stream authenticated, closing it with not-authorized otherwise.
/// </summary>
internal sealed class S2sInStreamHandler(S2sService service, ClientConnection connection) : ITlsAwareStreamHandler
{
    private S2sSession? _session;
    // XEP-0198: stanzas handled since the peer enabled stream management (null: not enabled).
    private uint? _handled;

    public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header)
    {
        if (header.DefaultNamespace != S2sNamespaces.Server)
            return Fail(StreamErrorCondition.InvalidNamespace, "This is a server-to-server port: the stream namespace must be jabber:server");
        var to = header.Header.GetAttribute("to") is { } t ? JidPrep.Nameprep(t) : null;
        var from = header.Header.GetAttribute("from") is { } f ? JidPrep.Nameprep(f) : null;
        var host = to is null ? null : service.FindHost(to);
        if (host is null)
        {
            SendHeader(to ?? "invalid.invalid");
            return Fail(to is null ? StreamErrorCondition.ImproperAddressing : StreamErrorCondition.HostUnknown,
                to is null ? "A 'to' attribute is required on stream headers" : "This server does not serve " + to);
        }
        if (_session is null)
        {
            _session = new S2sSession(false, host.Name, connection, e => service.Router.Route(host.Session, e)) { FromHost = from };
            connection.ServerName = host.Name;
            service.Created(_session);
            _session.Log.Info($"Incoming s2s connection from {connection.RemoteAddress}{(from is null ? "" : " for " + from)}{(connection.IsSecure ? " (direct TLS)" : "")}");
            // XEP-0368: a direct TLS connection was secured before its first stream header.
            if (connection.IsSecure) OnTlsEstablished();
        }
        else if (_session.ToHost != host.Name)
        {
            return Fail(StreamErrorCondition.NotAuthorized, "The 'to' attribute must remain the same across stream restarts");
        }
        else if (from is not null) _session.FromHost ??= from;
        SendHeader(host.Name);
        var features = BuildFeatures(out var fired);
        if (!fired.IsCompletedSuccessfully) return SendFeaturesAfterAsync(features, fired);
        connection.Send(features);
        return Continue;
    }

    private void SendHeader(string host)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        if (_session is not null) _session.StreamId = id;
        var to = _session?.FromHost is { } remote ? $" to='{System.Security.SecurityElement.Escape(remote)}'" : "";
        connection.SendRaw(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' " +
            $"xmlns:stream='http://etherx.jabber.org/streams' id='{id}' from='{System.Security.SecurityElement.Escape(host)}'{to} version='1.0'>");
        connection.HeaderSent = true;
    }

    /// <summary>An s2s-stream-features handler waited: the features go out once the chain has finished.</summary>
    private async Task<StreamAction> SendFeaturesAfterAsync(XmlElement features, ValueTask<object?> fired)
    {
        await fired;
        if (connection.IsClosed) return StreamAction.Close;
        connection.Send(features);
        return StreamAction.Continue;
    }

    private XmlElement BuildFeatures(out ValueTask<object?> fired)
    {
        var session = _session!;
        var features = new XmlElement("features", Namespaces.Streams);
        bool secure = connection.IsSecure;
        if (!session.Established)
        {
            if (!secure && service.HasCertificate(session.Host))
            {
                var starttls = features.AddChild("starttls", Namespaces.Tls);
                if (service.Settings.RequireEncryption) starttls.AddChild("required", Namespaces.Tls);
            }
            else if (secure || !service.Settings.RequireEncryption)
            {
                if (secure && session.FromHost is { } from && CertificateFor(from).Verified)
                    features.AddChild("mechanisms", Namespaces.Sasl).AddTextChild("mechanism", "EXTERNAL", Namespaces.Sasl);
                features.AddChild("dialback", S2sNamespaces.DialbackFeature).AddChild("errors", S2sNamespaces.DialbackFeature);
                OfferStreamManagement(features);
            }
        }
        else OfferStreamManagement(features);
        var e = new EventData(session);
        e["origin"] = session;
        e["features"] = features;
        fired = service.FindHost(session.Host)?.Events.FireAsync("s2s-stream-features", e) ?? default;
        return features;
    }

    // Offered with the authentication methods too: after dialback there is no stream restart,
    // and the peer may enable it once authenticated (XEP-0198 §3).
    private void OfferStreamManagement(XmlElement features)
    {
        if (S2sStreamManagement.WantedFor(service.Config, _session!.Host))
            features.AddChild("sm", StreamManagementNamespaces.V3).AddChild("optional", StreamManagementNamespaces.V3);
    }

    private Task<StreamAction> StreamManagement(XmlElement element)
    {
        switch (element.Name)
        {
            case "enable" when _session!.Established && _handled is null && S2sStreamManagement.WantedFor(service.Config, _session.Host):
                _handled = 0;
                connection.Send(new XmlElement("enabled", StreamManagementNamespaces.V3));
                break;
            case "enable":
                var failed = new XmlElement("failed", StreamManagementNamespaces.V3);
                failed.AddChild("unexpected-request", Namespaces.Stanzas);
                connection.Send(failed);
                break;
            case "r" when _handled is { } h:
                connection.Send(new XmlElement("a", StreamManagementNamespaces.V3).SetAttribute("h", h.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                break;
        }
        return Continue;
    }

    private PeerCertificateStatus CertificateFor(string domain) =>
        connection.IsSecure ? service.Verifier.Verify(connection.RemoteCertificate, domain) : PeerCertificateStatus.None;

    public void OnTlsEstablished()
    {
        if (_session is { } session) session.MarkSecure(CertificateFor(session.FromHost ?? ""));
    }

    public Task<StreamAction> OnElementAsync(XmlElement element)
    {
        if (_session is null) return Fail(StreamErrorCondition.NotWellFormed, "Stream header expected");
        switch (element.Namespace, element.Name)
        {
            case (Namespaces.Tls, "starttls"):
                if (connection.IsSecure || !service.HasCertificate(_session.Host))
                {
                    connection.Send(new XmlElement("failure", Namespaces.Tls));
                    connection.Close();
                    return Task.FromResult(StreamAction.Close);
                }
                connection.Send(new XmlElement("proceed", Namespaces.Tls));
                return Task.FromResult(StreamAction.StartTls);
            case (Namespaces.Sasl, "auth"):
                return Task.FromResult(External(element));
            case (S2sNamespaces.Dialback, "result"):
                return DialbackResult(element);
            case (S2sNamespaces.Dialback, "verify"):
                return DialbackVerify(element);
            case (S2sNamespaces.Server, "message" or "presence" or "iq"):
                return StanzaAsync(element);
            case (StreamManagementNamespaces.V3, _):
                return StreamManagement(element);
            case (Namespaces.Streams, "error"):
                _session.Log.Info($"Stream error from {_session.FromHost}: {element.FirstElement()?.Name}");
                connection.Close();
                return Task.FromResult(StreamAction.Close);
            default:
                return Fail(StreamErrorCondition.UnsupportedStanzaType, $"<{element.Name}/> is not handled on server-to-server streams");
        }
    }

    // XEP-0178 §2: the authorization identity is the peer's domain (or "=": the stream's 'from').
    private StreamAction External(XmlElement auth)
    {
        var session = _session!;
        if (auth.GetAttribute("mechanism") != "EXTERNAL") return SaslFailure("invalid-mechanism");
        var text = auth.Text.Trim();
        string? domain = session.FromHost;
        if (text.Length > 0 && text != "=")
        {
            try
            {
                domain = JidPrep.Nameprep(Encoding.UTF8.GetString(Convert.FromBase64String(text)));
            }
            catch (FormatException)
            {
                return SaslFailure("incorrect-encoding");
            }
        }
        if (domain is null || (session.FromHost is { } from && from != domain)) return SaslFailure("invalid-authzid");
        var status = CertificateFor(domain);
        if (!status.Verified)
        {
            session.Log.Info($"SASL EXTERNAL for {domain} refused: {(status.IdentityValid ? status.ChainError : "certificate does not name it")}");
            return SaslFailure("not-authorized");
        }
        session.FromHost = domain;
        connection.Send(new XmlElement("success", Namespaces.Sasl));
        service.Authenticated(session, domain, "EXTERNAL");
        return StreamAction.Restart;
    }

    private StreamAction SaslFailure(string condition)
    {
        var failure = new XmlElement("failure", Namespaces.Sasl);
        failure.AddChild(condition, Namespaces.Sasl);
        connection.Send(failure);
        return StreamAction.Continue;
    }

    // XEP-0220 §2.2: the originating server asks to be authenticated for a domain.
    private Task<StreamAction> DialbackResult(XmlElement result)
    {
        var session = _session!;
        var to = result.GetAttribute("to") is { } t ? JidPrep.Nameprep(t) : null;
        var from = result.GetAttribute("from") is { } f ? JidPrep.Nameprep(f) : null;
        if (to is null || from is null) return Fail(StreamErrorCondition.ImproperAddressing, "Dialback needs 'from' and 'to'");
        if (service.FindHost(to) is null) return Fail(StreamErrorCondition.HostUnknown, "This server does not serve " + to);
        if (service.Settings.RequireEncryption && !connection.IsSecure)
            return Fail(StreamErrorCondition.PolicyViolation, "Encrypted server-to-server communication is required");
        session.FromHost ??= from;
        var certificate = CertificateFor(from);
        if (certificate.Verified)
        {
            // The certificate already proves the domain (XEP-0178 §3); no need to dial back.
            service.DialbackSucceeded(session, from, to);
            return Continue;
        }
        if (service.Settings.RequiresCertificate(from))
        {
            session.Log.Warn($"Refusing dialback from {from}: its certificate is not valid and s2s_secure_auth requires one ({certificate.ChainError})");
            return Fail(StreamErrorCondition.NotAuthorized, "Your certificate could not be verified and this server requires secure authentication");
        }
        service.RequestVerify(session, from, to, session.StreamId!, result.Text.Trim());
        return Continue;
    }

    // XEP-0220 §2.3: the receiving server asks whether a key we issued is ours.
    private Task<StreamAction> DialbackVerify(XmlElement verify)
    {
        var from = verify.GetAttribute("from");
        var to = verify.GetAttribute("to");
        var id = verify.GetAttribute("id");
        if (from is null || to is null || id is null) return Fail(StreamErrorCondition.ImproperAddressing, "db:verify needs 'from', 'to' and 'id'");
        bool valid = service.FindHost(to) is not null && DialbackKey.Matches(service.Settings.DialbackSecret, from, to, id, verify.Text);
        var answer = new XmlElement("verify", S2sNamespaces.Dialback)
            .SetAttribute("from", to).SetAttribute("to", from).SetAttribute("id", id).SetAttribute("type", valid ? "valid" : "invalid");
        connection.Send(answer);
        return Continue;
    }

    private async Task<StreamAction> StanzaAsync(XmlElement stanza)
    {
        var session = _session!;
        var fromHost = stanza.GetAttribute("from") is { } from && JidParts.TrySplit(from, out _, out var fd, out _) ? fd : null;
        var toHost = stanza.GetAttribute("to") is { } to && JidParts.TrySplit(to, out _, out var td, out _) ? td : null;
        if (fromHost is null || toHost is null)
        {
            await Fail(StreamErrorCondition.ImproperAddressing, "Stanzas between servers need 'from' and 'to'");
            return StreamAction.Close;
        }
        // RFC 6120 §13.7.2 / XEP-0220 §2.6: only domains this stream proved may send on it.
        if (!session.AuthenticatedHosts.Contains(fromHost))
        {
            session.Log.Warn($"Stanza from unauthenticated domain {fromHost} (stream authenticated for {string.Join(", ", session.AuthenticatedHosts)})");
            await Fail(StreamErrorCondition.NotAuthorized, $"This stream is not authenticated for {fromHost}");
            return StreamAction.Close;
        }
        if (service.FindHost(toHost) is null)
        {
            await Fail(StreamErrorCondition.HostUnknown, "This server does not serve " + toHost);
            return StreamAction.Close;
        }
        ComponentNamespaces.Rename(stanza, S2sNamespaces.Server, Namespaces.Client);
        await service.Router.ProcessAsync(session, stanza);
        // XEP-0198 §4: counted once its pass is done, so an ack covers only handled stanzas.
        if (_handled is { } handled) _handled = unchecked(handled + 1);
        return StreamAction.Continue;
    }

    public Task OnStreamEndAsync()
    {
        connection.Close();
        return Task.CompletedTask;
    }

    public Task OnDisconnectedAsync(string reason)
    {
        if (_session is { } session) service.Closed(session, reason);
        return Task.CompletedTask;
    }

    private Task<StreamAction> Fail(StreamErrorCondition condition, string text)
    {
        connection.Close(condition, text);
        return Task.FromResult(StreamAction.Close);
    }

    private static Task<StreamAction> Continue => Task.FromResult(StreamAction.Continue);
}
