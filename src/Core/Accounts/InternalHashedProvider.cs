using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Storage;

namespace LuaXmpp.Accounts;

/// <summary>
/// Prosody's internal_hashed: the "accounts" keyval store holds salt (a UUID string, used as the
/// salt's bytes), iteration_count, and stored_key/server_key as lower-case hex for the
/// <c>password_hash</c> hash (SHA-1 unless configured). We add the other hash's keys in
/// stored_key_sha256/server_key_sha256 (or _sha1), with the salt they were made with in
/// salt_sha256 (or _sha1): if Prosody later changes the password it keeps our fields but makes a
/// new salt, and the mismatch tells us those keys are stale.
/// </summary>
public sealed class InternalHashedProvider : IAuthProvider
{
    private readonly IKeyValueStore _accounts;
    private readonly ScramHash _primary;
    private readonly int _iterations;

    public InternalHashedProvider(string host, IStorageManager storage, ScramHash primaryHash = ScramHash.Sha1, int iterations = ScramKeys.DefaultIterations)
    {
        _accounts = storage.OpenKeyValue(host, "accounts");
        _primary = primaryHash;
        _iterations = iterations;
    }

    public string Name => "internal_hashed";

    public async Task<bool> UserExistsAsync(string user) => await _accounts.GetAsync(user).ConfigureAwait(false) is not null;

    public async Task<bool> CreateUserAsync(string user, string password)
    {
        if (await UserExistsAsync(user).ConfigureAwait(false)) return false;
        var account = new DataTable();
        await Task.Run(() => SetKeys(account, password, _iterations)).ConfigureAwait(false);
        await _accounts.SetAsync(user, account).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> SetPasswordAsync(string user, string password)
    {
        var account = await _accounts.GetAsync(user).ConfigureAwait(false);
        if (account is null) return false;
        // Never lower an account's iteration count (mod_auth_internal_hashed does the same).
        int iterations = Math.Max(IterationCount(account) ?? 0, _iterations);
        await Task.Run(() => SetKeys(account, password, iterations)).ConfigureAwait(false);
        await _accounts.SetAsync(user, account).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> DeleteUserAsync(string user)
    {
        if (!await UserExistsAsync(user).ConfigureAwait(false)) return false;
        await _accounts.SetAsync(user, null).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> TestPasswordAsync(string user, string password)
    {
        var account = await _accounts.GetAsync(user).ConfigureAwait(false);
        if (account is null) return false;
        if (account.GetString("password") is { Length: > 0 } plain)
        {
            // A plaintext password left by migration: check it, then replace it with keys.
            if (!FixedTimeEquals(plain, password)) return false;
            await SetPasswordAsync(user, password).ConfigureAwait(false);
            return true;
        }
        var (ok, upgraded) = await Task.Run(() => Verify(account, password)).ConfigureAwait(false);
        if (ok && upgraded) await _accounts.SetAsync(user, account).ConfigureAwait(false);
        return ok;
    }

    public async Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash)
    {
        var account = await _accounts.GetAsync(user).ConfigureAwait(false);
        if (account is null) return null;
        if (account.GetString("password") is { Length: > 0 } plain)
        {
            await SetPasswordAsync(user, plain).ConfigureAwait(false);
            account = await _accounts.GetAsync(user).ConfigureAwait(false);
            if (account is null) return null;
        }
        return Credentials(account, hash);
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await foreach (var u in _accounts.UsersAsync().ConfigureAwait(false)) yield return u;
    }

    private string StoredKeyField(ScramHash hash) => hash == _primary ? "stored_key" : "stored_key_" + Suffix(hash);

    private string ServerKeyField(ScramHash hash) => hash == _primary ? "server_key" : "server_key_" + Suffix(hash);

    private static string SaltField(ScramHash hash) => "salt_" + Suffix(hash);

    private static string Suffix(ScramHash hash) => hash == ScramHash.Sha1 ? "sha1" : "sha256";

    private ScramHash Secondary => _primary == ScramHash.Sha1 ? ScramHash.Sha256 : ScramHash.Sha1;

    /// <summary>New salt and keys for both hashes; drops any plaintext password.</summary>
    private void SetKeys(DataTable account, string password, int iterations)
    {
        string salt = Guid.NewGuid().ToString();
        account["salt"] = salt;
        account["iteration_count"] = (long)iterations;
        account.Remove("password");
        Store(account, ScramKeys.Derive(_primary, password, Encoding.UTF8.GetBytes(salt), iterations));
        Store(account, ScramKeys.Derive(Secondary, password, Encoding.UTF8.GetBytes(salt), iterations));
    }

    private void Store(DataTable account, ScramCredentials keys)
    {
        account[StoredKeyField(keys.Hash)] = Convert.ToHexStringLower(keys.StoredKey);
        account[ServerKeyField(keys.Hash)] = Convert.ToHexStringLower(keys.ServerKey);
        if (keys.Hash != _primary) account[SaltField(keys.Hash)] = account.GetString("salt");
    }

    /// <summary>Checks the password against the primary keys; on success adds missing or stale secondary keys.</summary>
    private (bool Ok, bool Upgraded) Verify(DataTable account, string password)
    {
        var expected = Credentials(account, _primary);
        if (expected is null) return (false, false);
        var actual = ScramKeys.Derive(_primary, password, expected.Salt, expected.Iterations);
        bool ok = CryptographicOperations.FixedTimeEquals(actual.StoredKey, expected.StoredKey)
            & CryptographicOperations.FixedTimeEquals(actual.ServerKey, expected.ServerKey);
        if (!ok || Credentials(account, Secondary) is not null) return (ok, false);
        Store(account, ScramKeys.Derive(Secondary, password, expected.Salt, expected.Iterations));
        return (true, true);
    }

    private ScramCredentials? Credentials(DataTable account, ScramHash hash)
    {
        if (account.GetString("salt") is not { Length: > 0 } salt || IterationCount(account) is not { } iterations) return null;
        if (hash != _primary && account.GetString(SaltField(hash)) != salt) return null; // missing or stale
        var stored = FromHex(account.GetString(StoredKeyField(hash)));
        var server = FromHex(account.GetString(ServerKeyField(hash)));
        if (stored is null || server is null || stored.Length != ScramKeys.HashLength(hash) || server.Length != stored.Length) return null;
        return new ScramCredentials(hash, Encoding.UTF8.GetBytes(salt), iterations, stored, server);
    }

    private static int? IterationCount(DataTable account) => account.GetValueOrDefault("iteration_count") switch
    {
        long l when l > 0 && l <= int.MaxValue => (int)l,
        double d when d >= 1 && d <= int.MaxValue => (int)d,
        string s when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i > 0 => i,
        _ => null,
    };

    private static byte[]? FromHex(string? hex)
    {
        if (hex is null || hex.Length % 2 != 0) return null;
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
