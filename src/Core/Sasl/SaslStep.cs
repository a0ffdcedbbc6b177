namespace LuaXmpp.Sasl;

/// <summary>
/// The result of one SASL step. <see cref="Data"/> is the raw challenge or additional success data
/// (the session base64-encodes it); <see cref="Condition"/> is the RFC 6120 §6.5 failure element
/// name (aborted, account-disabled, credentials-expired, encryption-required, incorrect-encoding,
/// invalid-authzid, invalid-mechanism, malformed-request, mechanism-too-weak, not-authorized,
/// temporary-auth-failure) and <see cref="Text"/> an optional human-readable explanation.
/// </summary>
public sealed record SaslStep(SaslOutcome Outcome, byte[]? Data = null, string? Condition = null, string? Text = null)
{
    internal static SaslStep Challenge(byte[] data) => new(SaslOutcome.Challenge, data);

    internal static SaslStep Success(byte[]? data = null) => new(SaslOutcome.Success, data);

    internal static SaslStep Failure(string condition, string? text = null) => new(SaslOutcome.Failure, null, condition, text);

    internal static SaslStep Malformed(string text) => Failure(SaslConditions.MalformedRequest, text);

    internal static SaslStep NotAuthorized() => Failure(SaslConditions.NotAuthorized);
}
