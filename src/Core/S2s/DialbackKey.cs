using System.Security.Cryptography;
using System.Text;

namespace LuaXmpp.S2s;

/// <summary>XEP-0185 §3: key = HEX(HMAC-SHA256(SHA256(secret), receiving + ' ' + originating + ' ' + stream id)).</summary>
public static class DialbackKey
{
    public static string Generate(string secret, string receiving, string originating, string streamId)
    {
        var key = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(receiving + " " + originating + " " + streamId));
        return Convert.ToHexStringLower(mac);
    }

    public static bool Matches(string secret, string receiving, string originating, string streamId, string offered)
    {
        var expected = Encoding.ASCII.GetBytes(Generate(secret, receiving, originating, streamId));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(offered.Trim().ToLowerInvariant()));
    }
}
