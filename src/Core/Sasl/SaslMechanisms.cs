using LuaXmpp.Accounts;

namespace LuaXmpp.Sasl;

/// <summary>The server's SASL mechanisms (RFC 6120 §6.3.3) and their construction per &lt;auth/&gt;.</summary>
public static class SaslMechanisms
{
    public const string ScramSha256 = "SCRAM-SHA-256";
    public const string ScramSha1 = "SCRAM-SHA-1";
    public const string Plain = "PLAIN";
    public const string Anonymous = "ANONYMOUS";

    /// <summary>
    /// What to list in &lt;mechanisms/&gt;, strongest first. PLAIN only on an encrypted stream unless
    /// allow_unencrypted_plain_auth is set (mod_saslauth's insecure_sasl_mechanisms default).
    /// </summary>
    public static IReadOnlyList<string> Offered(bool secure, bool allowUnencryptedPlain) =>
        secure || allowUnencryptedPlain ? [ScramSha256, ScramSha1, Plain] : [ScramSha256, ScramSha1];

    /// <summary>
    /// What to list for a provider that serves only <paramref name="served"/> (a Lua provider's SASL
    /// handler; null for ours, which serve every mechanism above). ANONYMOUS only when served.
    /// </summary>
    public static IEnumerable<string> Offered(bool secure, bool allowUnencryptedPlain, IReadOnlyCollection<string>? served)
    {
        foreach (var name in Offered(secure, allowUnencryptedPlain))
        {
            if (served is null || served.Contains(name)) yield return name;
        }
        if (served?.Contains(Anonymous) == true) yield return Anonymous;
    }

    /// <summary>
    /// A fresh exchange for <paramref name="name"/>, or null for a mechanism we do not implement
    /// (invalid-mechanism). PLAIN on an insecure stream, when not allowed, yields a mechanism whose
    /// first step fails with encryption-required, as Prosody's mod_saslauth answers.
    /// </summary>
    public static SaslServerMechanism? Create(string name, string host, IAuthProvider auth, bool secure, bool allowUnencryptedPlain) =>
        name switch
        {
            ScramSha256 => new ScramMechanism(ScramHash.Sha256, host, auth),
            ScramSha1 => new ScramMechanism(ScramHash.Sha1, host, auth),
            Plain when secure || allowUnencryptedPlain => new PlainMechanism(host, auth),
            Plain => new RefusedMechanism(Plain, SaslConditions.EncryptionRequired),
            Anonymous when auth.SaslMechanisms?.Contains(Anonymous) == true => new AnonymousMechanism(auth),
            _ => null,
        };
}
