using LuaXmpp.Configuration;

namespace LuaXmpp.C2s;

/// <summary>The c2s options of one host, read once per stream from the config with Prosody's defaults.</summary>
public sealed record ClientStreamSettings(bool RequireEncryption, bool AllowUnencryptedPlain, int StanzaSizeLimit)
{
    /// <summary>Prosody 0.12 mod_c2s: c2s_stanza_size_limit defaults to 256 KiB once authenticated.</summary>
    public const int DefaultStanzaSizeLimit = 256 * 1024;

    public static ClientStreamSettings For(ServerConfig config, string host) => new(
        RequireEncryption: config.GetBoolean(host, "c2s_require_encryption", config.GetBoolean(host, "require_encryption", true)),
        AllowUnencryptedPlain: config.GetBoolean(host, "allow_unencrypted_plain_auth", false),
        StanzaSizeLimit: (int)(config.GetNumber(host, "c2s_stanza_size_limit") ?? DefaultStanzaSizeLimit));
}
