using LuaXmpp.Accounts;

namespace LuaXmpp.Sasl;

/// <summary>
/// SASL ANONYMOUS (RFC 4505): one message, an optional trace token; the provider
/// (mod_auth_anonymous) picks a random username for the session.
/// </summary>
internal sealed class AnonymousMechanism(IAuthProvider auth) : SaslServerMechanism
{
    // RFC 4505 §2: the trace is at most 255 UTF-8 characters.
    private const int MaxTraceCharacters = 255;

    private bool _done;

    public override string Name => SaslMechanisms.Anonymous;

    public override async Task<SaslStep> StepAsync(byte[] clientMessage)
    {
        if (_done) throw new InvalidOperationException("The ANONYMOUS exchange is over.");
        _done = true;
        var trace = DecodeUtf8(clientMessage);
        if (trace is null) return SaslStep.Failure(SaslConditions.IncorrectEncoding);
        if (trace.EnumerateRunes().Count() > MaxTraceCharacters) return SaslStep.Malformed("The trace token is longer than 255 characters.");
        Username = await auth.AnonymousUserAsync().ConfigureAwait(false);
        return Username is null ? SaslStep.NotAuthorized() : SaslStep.Success();
    }
}
