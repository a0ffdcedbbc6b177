using System.Runtime.CompilerServices;
using LuaXmpp.Accounts;

namespace LuaXmpp.Tests.Sasl;

/// <summary>An in-memory IAuthProvider for mechanism tests: passwords plus SCRAM salt and iterations per user.</summary>
internal sealed class DictionaryAuthProvider : IAuthProvider
{
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);

    public string Name => "internal_hashed";

    /// <summary>Adds an account; <paramref name="sha256"/> false simulates an account imported with SHA-1 keys only.</summary>
    public DictionaryAuthProvider With(string user, string password, byte[]? salt = null, int iterations = 4096, bool sha256 = true)
    {
        _accounts[user] = new Account(password, salt ?? [1, 2, 3, 4, 5, 6, 7, 8], iterations, sha256);
        return this;
    }

    public Task<bool> UserExistsAsync(string user) => Task.FromResult(_accounts.ContainsKey(user));

    public Task<bool> CreateUserAsync(string user, string password)
    {
        if (_accounts.ContainsKey(user)) return Task.FromResult(false);
        With(user, password);
        return Task.FromResult(true);
    }

    public Task<bool> SetPasswordAsync(string user, string password)
    {
        if (!_accounts.TryGetValue(user, out var a)) return Task.FromResult(false);
        _accounts[user] = a with { Password = password };
        return Task.FromResult(true);
    }

    public Task<bool> DeleteUserAsync(string user) => Task.FromResult(_accounts.Remove(user));

    public Task<bool> TestPasswordAsync(string user, string password) =>
        Task.FromResult(_accounts.TryGetValue(user, out var a) && a.Password == password);

    public Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash)
    {
        if (!_accounts.TryGetValue(user, out var a) || (hash == ScramHash.Sha256 && !a.Sha256))
            return Task.FromResult<ScramCredentials?>(null);
        return Task.FromResult<ScramCredentials?>(ScramKeys.Derive(hash, a.Password, a.Salt, a.Iterations));
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await Task.Yield();
        foreach (var user in _accounts.Keys) yield return user;
    }

    private sealed record Account(string Password, byte[] Salt, int Iterations, bool Sha256);
}
