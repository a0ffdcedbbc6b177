namespace LuaXmpp.Accounts;

/// <summary>
/// Prosody's auth provider (usermanager): "internal_hashed" or "internal_plain", chosen by the
/// <c>authentication</c> option, one per host. Thread-safe; never blocks the loop on I/O.
/// </summary>
public interface IAuthProvider
{
    string Name { get; }

    Task<bool> UserExistsAsync(string user);

    /// <summary>False if the user exists already.</summary>
    Task<bool> CreateUserAsync(string user, string password);

    /// <summary>False if there is no such user.</summary>
    Task<bool> SetPasswordAsync(string user, string password);

    Task<bool> DeleteUserAsync(string user);

    /// <summary>Checks a plaintext password (SASL PLAIN, legacy auth).</summary>
    Task<bool> TestPasswordAsync(string user, string password);

    /// <summary>The SCRAM credentials for that hash, or null if the user or those keys do not exist.</summary>
    Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash);

    IAsyncEnumerable<string> UsersAsync();

    /// <summary>
    /// The SASL mechanisms this provider can serve, or null for all of ours. A Lua provider offers
    /// what its SASL handler offers (mod_auth_insecure: PLAIN only), as Prosody's mod_saslauth does.
    /// </summary>
    IReadOnlyCollection<string>? SaslMechanisms => null;

    /// <summary>
    /// SASL ANONYMOUS (RFC 4505): a fresh username the provider accepts for an anonymous login, or
    /// null when it has none to give (only providers that offer ANONYMOUS, mod_auth_anonymous).
    /// </summary>
    Task<string?> AnonymousUserAsync() => Task.FromResult<string?>(null);
}
