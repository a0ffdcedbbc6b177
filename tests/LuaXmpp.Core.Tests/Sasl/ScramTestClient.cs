using System.Text;
using LuaXmpp.Accounts;

namespace LuaXmpp.Tests.Sasl;

/// <summary>The client side of SCRAM (RFC 5802 §3), to drive the server in tests.</summary>
internal sealed class ScramTestClient(ScramHash hash, string user, string password, string clientNonce = "clientnonce123")
{
    public const string Gs2Header = "n,,";

    private string? _authMessage;
    private byte[]? _salted;

    public string ClientFirstBare => $"n={user},r={clientNonce}";

    public byte[] ClientFirst() => Encoding.UTF8.GetBytes(Gs2Header + ClientFirstBare);

    public byte[] ClientFinal(byte[] serverFirst, string? passwordOverride = null)
    {
        var sf = Encoding.UTF8.GetString(serverFirst);
        var attrs = sf.Split(',').ToDictionary(p => p[0], p => p[2..]);
        _salted = ScramKeys.SaltedPassword(hash, passwordOverride ?? password, Convert.FromBase64String(attrs['s']), int.Parse(attrs['i']));
        var withoutProof = $"c={Convert.ToBase64String(Encoding.UTF8.GetBytes(Gs2Header))},r={attrs['r']}";
        _authMessage = $"{ClientFirstBare},{sf},{withoutProof}";
        var clientKey = ScramKeys.Hmac(hash, _salted, "Client Key"u8);
        var signature = ScramKeys.Hmac(hash, ScramKeys.Digest(hash, clientKey), Encoding.UTF8.GetBytes(_authMessage));
        var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}");
    }

    public string ExpectedServerFinal()
    {
        var serverKey = ScramKeys.Hmac(hash, _salted!, "Server Key"u8);
        return "v=" + Convert.ToBase64String(ScramKeys.Hmac(hash, serverKey, Encoding.UTF8.GetBytes(_authMessage!)));
    }
}
