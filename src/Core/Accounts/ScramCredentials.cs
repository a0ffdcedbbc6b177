namespace LuaXmpp.Accounts;

public enum ScramHash
{
    Sha1,
    Sha256,
}

/// <summary>What internal_hashed keeps for SCRAM (RFC 5802 §3): salt, iterations, StoredKey, ServerKey.</summary>
public sealed record ScramCredentials(ScramHash Hash, byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey);
