using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Storage;

namespace LuaXmpp.Accounts;

/// <summary>
/// Prosody's internal_plain: the "accounts" store holds <c>password</c> in plaintext. SCRAM keys are
/// derived on demand with a salt fixed per account (so clients may cache their salted password).
/// </summary>
public sealed class InternalPlainProvider : IAuthProvider
{
    private readonly string _host;
    private readonly IKeyValueStore _accounts;

    public InternalPlainProvider(string host, IStorageManager storage)
    {
        _host = host;
        _accounts = storage.OpenKeyValue(host, "accounts");
    }

    public string Name => "internal_plain";

    public async Task<bool> UserExistsAsync(string user) => await _accounts.GetAsync(user).ConfigureAwait(false) is not null;

    public async Task<bool> CreateUserAsync(string user, string password)
    {
        if (await UserExistsAsync(user).ConfigureAwait(false)) return false;
        await _accounts.SetAsync(user, new DataTable { ["password"] = password }).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> SetPasswordAsync(string user, string password)
    {
        var account = await _accounts.GetAsync(user).ConfigureAwait(false);
        if (account is null) return false;
        account["password"] = password;
        await _accounts.SetAsync(user, account).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> DeleteUserAsync(string user)
    {
        if (!await UserExistsAsync(user).ConfigureAwait(false)) return false;
        await _accounts.SetAsync(user, null).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> TestPasswordAsync(string user, string password) =>
        (await _accounts.GetAsync(user).ConfigureAwait(false))?.GetString("password") is { } stored
        && InternalHashedProvider.FixedTimeEquals(stored, password);

    public async Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash)
    {
        if ((await _accounts.GetAsync(user).ConfigureAwait(false))?.GetString("password") is not { } password) return null;
        var salt = SHA256.HashData(Encoding.UTF8.GetBytes("luaxmpp-scram-salt\0" + _host + "\0" + user))[..16];
        return await Task.Run(() => ScramKeys.Derive(hash, password, salt, ScramKeys.DefaultIterations)).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await foreach (var u in _accounts.UsersAsync().ConfigureAwait(false)) yield return u;
    }
}
