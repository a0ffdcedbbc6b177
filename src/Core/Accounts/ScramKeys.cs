using System.Security.Cryptography;
using System.Text;

namespace LuaXmpp.Accounts;

/// <summary>SCRAM key derivation (RFC 5802 §3, RFC 7677 for SHA-256).</summary>
public static class ScramKeys
{
    /// <summary>Prosody 0.12's default iteration count for new passwords.</summary>
    public const int DefaultIterations = 10000;

    public static HashAlgorithmName AlgorithmName(ScramHash hash) =>
        hash == ScramHash.Sha1 ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;

    /// <summary>SaltedPassword := Hi(Normalize(password), salt, i).</summary>
    public static byte[] SaltedPassword(ScramHash hash, string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, AlgorithmName(hash), HashLength(hash));

    public static ScramCredentials Derive(ScramHash hash, string password, byte[] salt, int iterations)
    {
        var salted = SaltedPassword(hash, password, salt, iterations);
        var clientKey = Hmac(hash, salted, "Client Key"u8);
        var serverKey = Hmac(hash, salted, "Server Key"u8);
        return new ScramCredentials(hash, salt, iterations, Digest(hash, clientKey), serverKey);
    }

    public static int HashLength(ScramHash hash) => hash == ScramHash.Sha1 ? 20 : 32;

    public static byte[] Hmac(ScramHash hash, byte[] key, ReadOnlySpan<byte> data) =>
        hash == ScramHash.Sha1 ? HMACSHA1.HashData(key, data) : HMACSHA256.HashData(key, data);

    public static byte[] Digest(ScramHash hash, ReadOnlySpan<byte> data) =>
        hash == ScramHash.Sha1 ? SHA1.HashData(data) : SHA256.HashData(data);
}
