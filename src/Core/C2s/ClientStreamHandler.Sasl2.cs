using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;

namespace LuaXmpp.C2s;

// XEP-0388 SASL2 is Lua's: prosody-modules' mod_sasl2 (with bind2, sm, fast) handles
// <authenticate/> and <response/> on the stanza/urn:xmpp:sasl:2:* events, through util.sasl over
// our accounts (core.usermanager.get_sasl_handler). The core keeps what it does for its own SASL:
// the auth failure throttle, the failure log line, and lifting the pre-authentication limits
// once the session is authenticated. There is no stream restart after SASL2 success (§2.6).
public sealed partial class ClientStreamHandler
{
    private async Task<StreamAction> LuaSaslPassAsync(XmlElement element, StreamManagementController? counted)
    {
        if (element.Name is "authenticate" or "response")
        {
            // The address's delay, as before a native SASL step (the account is not known yet).
            var waited = _throttle.DelayFor(_connection.RemoteAddress, null);
            if (waited > TimeSpan.Zero) await Task.Delay(waited, _services.Time);
            if (_connection.IsClosed) return StreamAction.Close;
        }
        var action = await PassAsync(element, counted);
        CompleteLuaAuthentication();
        return action;
    }

    /// <summary>After a SASL2 pass: a session Lua authenticated (or resumed onto this connection) gets the authenticated limits.</summary>
    private void CompleteLuaAuthentication()
    {
        var session = _session;
        if (session?.Username is null || _connection.IsAuthenticated) return;
        _connection.MarkAuthenticated(_settings!.StanzaSizeLimit);
        _throttle.RecordSuccess(_connection.RemoteAddress, session.Username);
        var mechanism = session.Fields.GetValueOrDefault("auth_mechanism") as string ?? "SASL2";
        session.Log.Info($"Authenticated as {session.Username}@{session.Host} with {mechanism} (SASL2)");
    }

    private void OnLuaAuthFailed(string? user, string condition)
    {
        _throttle.RecordFailure(_connection.RemoteAddress, user);
        // The same line as the native SASL's failures (mod_log_auth's layout, for fail2ban-style tools).
        _session?.Log.Warn($"Failed authentication attempt ({condition}) for user {user ?? "(unknown)"}@{_session.Host} from IP: {_connection.RemoteAddress}");
    }
}
