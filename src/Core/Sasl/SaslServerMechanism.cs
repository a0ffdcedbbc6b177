using System.Text;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sasl;

/// <summary>
/// One server-side SASL exchange (RFC 4422 §3): created per &lt;auth/&gt;, fed the client's
/// messages (already base64-decoded; an absent or "=" initial response is an empty array) until
/// it returns Success or Failure. Not thread-safe: one session drives it step by step.
/// </summary>
public abstract class SaslServerMechanism
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public abstract string Name { get; }

    /// <summary>
    /// The nodeprepped localpart. Set as soon as the mechanism knows it (so failures can be
    /// throttled per user); only an authenticated identity once a step returned Success.
    /// </summary>
    public string? Username { get; protected set; }

    /// <summary>Processes the next client message. Calling it after Success or Failure is a bug.</summary>
    public abstract Task<SaslStep> StepAsync(byte[] clientMessage);

    /// <summary>Decodes UTF-8, null for invalid sequences (RFC 6120 §6.5.5 incorrect-encoding).</summary>
    protected static string? DecodeUtf8(byte[] message)
    {
        try
        {
            return StrictUtf8.GetString(message);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// We do not support acting on behalf of another entity (RFC 6120 §6.3.8): an authzid must be
    /// absent, empty or the bare JID of the authenticated account.
    /// </summary>
    protected static bool IsAcceptableAuthzid(string? authzid, string user, string host)
    {
        if (string.IsNullOrEmpty(authzid)) return true;
        if (!Jid.TryParse(authzid, out var requested) || !requested.IsBare) return false;
        return requested == Jid.Create(user, host);
    }
}
