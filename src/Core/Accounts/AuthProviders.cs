using LuaXmpp.Configuration;
using LuaXmpp.Storage;

namespace LuaXmpp.Accounts;

/// <summary>Creates a host's auth provider from the <c>authentication</c> option (Prosody's usermanager).</summary>
public static class AuthProviders
{
    public const string DefaultProvider = "internal_hashed";

    /// <exception cref="NotSupportedException">The configured provider is not one we have.</exception>
    public static IAuthProvider Create(string host, ServerConfig config, IStorageManager storage)
    {
        string name = config.GetString(host, "authentication") ?? DefaultProvider;
        return name switch
        {
            "internal_hashed" => new InternalHashedProvider(host, storage, PasswordHash(host, config), Iterations(host, config)),
            "internal_plain" => new InternalPlainProvider(host, storage),
            _ => throw new NotSupportedException($"authentication = \"{name}\" on {host} is not supported (use internal_hashed or internal_plain)"),
        };
    }

    /// <summary>mod_auth_internal_hashed's <c>password_hash</c>: which SCRAM hash the standard fields hold.</summary>
    private static ScramHash PasswordHash(string host, ServerConfig config) =>
        config.GetString(host, "password_hash") is "SHA-256" ? ScramHash.Sha256 : ScramHash.Sha1;

    private static int Iterations(string host, ServerConfig config) =>
        config.GetNumber(host, "default_iteration_count") is { } n && n >= 1 && n <= int.MaxValue ? (int)n : ScramKeys.DefaultIterations;
}
