namespace LuaXmpp.Sasl;

/// <summary>What the session sends after a SASL step (RFC 6120 §6.4): challenge, success or failure.</summary>
public enum SaslOutcome
{
    Challenge,
    Success,
    Failure,
}
