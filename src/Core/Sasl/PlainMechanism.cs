using LuaXmpp.Accounts;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sasl;

/// <summary>SASL PLAIN (RFC 4616): one message "authzid NUL authcid NUL passwd", checked against the provider.</summary>
internal sealed class PlainMechanism(string host, IAuthProvider auth) : SaslServerMechanism
{
    private bool _challenged;
    private bool _done;

    public override string Name => "PLAIN";

    public override async Task<SaslStep> StepAsync(byte[] clientMessage)
    {
        if (_done) throw new InvalidOperationException("The PLAIN exchange is over.");
        if (clientMessage.Length == 0 && !_challenged)
        {
            // No initial response: RFC 6120 §6.4.2 — send an empty challenge and wait for it.
            _challenged = true;
            return SaslStep.Challenge([]);
        }
        _done = true;
        return await CheckAsync(clientMessage).ConfigureAwait(false);
    }

    private async Task<SaslStep> CheckAsync(byte[] clientMessage)
    {
        var text = DecodeUtf8(clientMessage);
        if (text is null) return SaslStep.Failure(SaslConditions.IncorrectEncoding);
        var fields = text.Split('\0');
        if (fields.Length != 3 || fields[1].Length == 0 || fields[2].Length == 0)
            return SaslStep.Malformed("Expected authzid NUL authcid NUL password.");
        // RFC 4616 §2: the server prepares authcid and password with SASLprep (as a query).
        var prepped = JidPrep.Saslprep(fields[1]);
        var user = prepped is null ? null : JidPrep.Nodeprep(prepped);
        var password = JidPrep.Saslprep(fields[2]);
        if (user is null || password is null || password.Length == 0) return SaslStep.NotAuthorized();
        Username = user;
        if (!IsAcceptableAuthzid(fields[0], user, host)) return SaslStep.Failure(SaslConditions.InvalidAuthzid);
        return await auth.TestPasswordAsync(user, password).ConfigureAwait(false)
            ? SaslStep.Success()
            : SaslStep.NotAuthorized();
    }
}
