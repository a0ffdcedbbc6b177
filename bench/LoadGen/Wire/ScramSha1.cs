using System.Security.Cryptography;
using System.Text;

namespace LuaXmpp.Bench.LoadGen.Wire;

/// <summary>The client side of SCRAM-SHA-1 (RFC 5802 §3) without channel binding ("n,,").</summary>
public sealed class ScramSha1(string user, string password)
{
    private readonly string _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    private string _clientFirstBare = "";
    private byte[] _serverSignature = [];

    public string ClientFirst()
    {
        _clientFirstBare = $"n={user.Replace("=", "=3D").Replace(",", "=2C")},r={_clientNonce}";
        return "n,," + _clientFirstBare;
    }

    /// <summary>RFC 5802 §3: SaltedPassword = Hi(password, salt, i); the proof is
    /// ClientKey XOR HMAC(StoredKey, AuthMessage).</summary>
    public string ClientFinal(string serverFirst)
    {
        var fields = serverFirst.Split(',').ToDictionary(f => f[..1], f => f[2..]);
        var nonce = fields["r"];
        if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal)) throw new IOException("SCRAM: server nonce does not extend ours");
        var salt = Convert.FromBase64String(fields["s"]);
        var iterations = int.Parse(fields["i"]);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA1, 20);
        var clientKey = HMACSHA1.HashData(salted, "Client Key"u8);
        var storedKey = SHA1.HashData(clientKey);
        var withoutProof = "c=biws,r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + serverFirst + "," + withoutProof);
        var signature = HMACSHA1.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var i = 0; i < proof.Length; i++) proof[i] = (byte)(clientKey[i] ^ signature[i]);
        var serverKey = HMACSHA1.HashData(salted, "Server Key"u8);
        _serverSignature = HMACSHA1.HashData(serverKey, authMessage);
        return withoutProof + ",p=" + Convert.ToBase64String(proof);
    }

    public bool VerifyServerFinal(string serverFinal) =>
        serverFinal.StartsWith("v=", StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(serverFinal[2..]), _serverSignature);
}
