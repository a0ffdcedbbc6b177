using LuaXmpp.Accounts;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>A minimal in-memory IAuthProvider with plaintext passwords.</summary>
public sealed class MemoryAuth : IAuthProvider
{
    public Dictionary<string, string> Users { get; } = new(StringComparer.Ordinal);

    public string Name => "internal_plain";

    public Task<bool> UserExistsAsync(string user) => Task.FromResult(Users.ContainsKey(user));

    public Task<bool> CreateUserAsync(string user, string password) => Task.FromResult(Users.TryAdd(user, password));

    public Task<bool> SetPasswordAsync(string user, string password)
    {
        if (!Users.ContainsKey(user)) return Task.FromResult(false);
        Users[user] = password;
        return Task.FromResult(true);
    }

    public Task<bool> DeleteUserAsync(string user) => Task.FromResult(Users.Remove(user));

    public Task<bool> TestPasswordAsync(string user, string password) =>
        Task.FromResult(Users.TryGetValue(user, out var p) && p == password);

    public Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash) => Task.FromResult<ScramCredentials?>(null);

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await Task.CompletedTask;
        foreach (var u in Users.Keys.ToArray()) yield return u;
    }
}
