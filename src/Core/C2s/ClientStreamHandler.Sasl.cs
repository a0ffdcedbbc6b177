using LuaXmpp.Events;
using LuaXmpp.Network;
using LuaXmpp.Routing;
using LuaXmpp.Sasl;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.C2s;

// SASL (RFC 6120 §6) and resource binding (§7).
public sealed partial class ClientStreamHandler
{
    private SaslServerMechanism? _sasl;

    private async Task<StreamAction> HandleSaslAsync(XmlElement element)
    {
        var session = _session!;
        if (session.Username is not null)
            return await Fail(StreamErrorCondition.PolicyViolation, "Already authenticated");
        switch (element.Name)
        {
            case "auth":
                if (_settings!.RequireEncryption && !_connection.IsSecure)
                    return SaslFailure("encryption-required", "Encryption is required before authentication");
                var name = element.GetAttribute("mechanism") ?? "";
                var auth = _services.Auth(session.Host);
                _sasl = auth.SaslMechanisms is { } served && !served.Contains(name) ? null
                    : SaslMechanisms.Create(name, session.Host, auth, _connection.IsSecure, _settings.AllowUnencryptedPlain);
                if (_sasl is null) return SaslFailure("invalid-mechanism", null);
                return await StepAsync(element);
            case "response":
                if (_sasl is null) return SaslFailure("malformed-request", "No authentication in progress");
                return await StepAsync(element);
            case "abort":
                _sasl = null;
                return SaslFailure("aborted", null);
            default:
                return await Fail(StreamErrorCondition.UnsupportedStanzaType, "Unexpected SASL element " + element.Name);
        }
    }

    private async Task<StreamAction> StepAsync(XmlElement element)
    {
        var session = _session!;
        var mechanism = _sasl!;
        var text = element.Text.Trim();
        byte[] data;
        try
        {
            // RFC 6120 §6.4.2: "=" is an empty response; no text means no initial response.
            data = text is "" or "=" ? [] : Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return SaslFailure("incorrect-encoding", "Invalid base64");
        }
        // The address's delay before any work; the account's share once the mechanism knows the
        // username (PLAIN only learns it in its one step), before the outcome is told.
        var waited = _throttle.DelayFor(_connection.RemoteAddress, null);
        if (waited > TimeSpan.Zero) await Task.Delay(waited, _services.Time);
        // Key derivation and storage lookups run off the loop; the continuation comes back to it.
        var step = await Task.Run(() => mechanism.StepAsync(data));
        if (step.Outcome != SaslOutcome.Challenge && _throttle.DelayFor(_connection.RemoteAddress, mechanism.Username) - waited is { Ticks: > 0 } more)
            await Task.Delay(more, _services.Time);
        if (_connection.IsClosed) return StreamAction.Close;
        switch (step.Outcome)
        {
            case SaslOutcome.Challenge:
                _connection.Send(SaslElement("challenge", step.Data));
                return StreamAction.Continue;
            case SaslOutcome.Success:
                _sasl = null;
                _throttle.RecordSuccess(_connection.RemoteAddress, mechanism.Username);
                session.Username = mechanism.Username;
                session.Type = "c2s_unbound";
                session.Fields["auth_mechanism"] = mechanism.Name;
                _connection.MarkAuthenticated(_settings!.StanzaSizeLimit, session.Username);
                _connection.Send(SaslElement("success", step.Data));
                session.Log.Info($"Authenticated as {session.Username}@{session.Host} with {mechanism.Name}");
                // Handlers may wait (mod_sasl2_fast, mod_log_auth storing): the restart is read after them.
                await FireSessionEventAsync("authentication-success", null);
                return StreamAction.Restart;
            default:
                _sasl = null;
                _throttle.RecordFailure(_connection.RemoteAddress, mechanism.Username);
                // One line per failure with the account and the address, in mod_log_auth's layout, for fail2ban-style tools.
                session.Log.Warn($"Failed authentication attempt ({step.Condition ?? "not-authorized"}) for user {mechanism.Username ?? "(unknown)"}@{session.Host} from IP: {_connection.RemoteAddress}");
                // As mod_saslauth: handlers see (and may change) the condition and text that go out.
                var failed = await FireSessionEventAsync("authentication-failure", step.Condition ?? "not-authorized", step.Text);
                return SaslFailure(failed["condition"] as string ?? step.Condition ?? "not-authorized", failed["text"] as string);
        }
    }

    private StreamAction SaslFailure(string condition, string? text)
    {
        var failure = new XmlElement("failure", Namespaces.Sasl);
        failure.AddChild(condition, Namespaces.Sasl);
        if (text is not null) failure.AddTextChild("text", text, Namespaces.Sasl);
        _connection.Send(failure);
        return StreamAction.Continue;
    }

    private static XmlElement SaslElement(string name, byte[]? data)
    {
        var element = new XmlElement(name, Namespaces.Sasl);
        if (data is { Length: > 0 }) element.AddText(Convert.ToBase64String(data));
        return element;
    }

    private async Task<StreamAction> HandleBindAsync(XmlElement iq, XmlElement bind)
    {
        var session = _session!;
        if (iq.GetAttribute("type") != "set")
        {
            session.Send(StanzaReply.Error(iq, StanzaError.BadRequest("Bind requests are iq type set")));
            return StreamAction.Continue;
        }
        var error = await _services.Sessions.BindAsync(session, bind.ChildText("resource", Namespaces.Bind)?.Trim());
        if (error is not null)
        {
            session.Send(StanzaReply.Error(iq, error));
            return StreamAction.Continue;
        }
        var reply = StanzaReply.Result(iq);
        reply.AddChild("bind", Namespaces.Bind).AddTextChild("jid", session.FullJid!.ToString(), Namespaces.Bind);
        session.Send(reply);
        session.Log.Info($"Bound {session.FullJid}");
        return StreamAction.Continue;
    }

    /// <summary>Fires an authentication event and completes once its chain has, waits included.</summary>
    private async ValueTask<EventData> FireSessionEventAsync(string name, string? condition, string? text = null)
    {
        var e = new EventData(_session);
        e["session"] = _session;
        if (condition is not null) e["condition"] = condition;
        if (text is not null) e["text"] = text;
        await _host!.Events.FireAsync(name, e);
        return e;
    }
}
