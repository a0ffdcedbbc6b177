using LuaXmpp.Accounts;
using LuaXmpp.Logging;
using LuaXmpp.Loop;


namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// An <see cref="IAuthProvider"/> whose accounts live in a Lua auth module (Prosody's usermanager
/// contract: test_password, get_password, user_exists, create_user, set_password, delete_user,
/// users, get_sasl_handler). Every call runs on the loop thread, where Lua lives; from the loop
/// itself it runs inline (the account natives of core.usermanager call back in).
/// </summary>
internal sealed class LuaAuthProvider(LuaRuntime runtime, ServerLoop loop, string host, string name) : IAuthProvider
{
    private static readonly string[] KnownMechanisms =
        [Sasl.SaslMechanisms.ScramSha256, Sasl.SaslMechanisms.ScramSha1, Sasl.SaslMechanisms.Plain, Sasl.SaslMechanisms.Anonymous];

    public string Name => name;

    private static readonly Logger Log = Logger.For("usermanager");

    /// <summary>
    /// What the module's SASL handler offers, among the mechanisms the C# core implements; none
    /// when the module is not loaded (mod_auth_ldap without lualdap), as Prosody offers none then.
    /// </summary>
    public IReadOnlyCollection<string>? SaslMechanisms
    {
        get
        {
            object?[] offered;
            try
            {
                var call = OnLoop(() => Call("mechanisms", false));
                // On the loop a call that waits cannot be waited for here (it needs the loop to finish).
                if (loop.IsOnLoop && !call.IsCompleted) throw new InvalidOperationException("the provider's SASL handler waited");
                offered = call.GetAwaiter().GetResult();
            }
            catch (InvalidOperationException ex)
            {
                Log.Warn($"No available SASL mechanisms on {host}: {ex.Message}");
                return [];
            }
            return offered.FirstOrDefault() is List<string> list ? [.. KnownMechanisms.Where(list.Contains)] : null;
        }
    }

    public Task<bool> UserExistsAsync(string user) => Flag("exists", user);

    public Task<bool> CreateUserAsync(string user, string password) => Flag("create", user, password);

    public Task<bool> SetPasswordAsync(string user, string password) => Flag("set_password", user, password);

    public Task<bool> DeleteUserAsync(string user) => Flag("delete", user);

    public Task<bool> TestPasswordAsync(string user, string password) => Flag("test", user, password);

    public async Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash)
    {
        var r = await OnLoop(() => Call("scram", true, user, hash == ScramHash.Sha1 ? "sha_1" : "sha_256"));
        if (r.Length < 4 || r[0] is not byte[] stored || r[1] is not byte[] server || r[2] is not double iterations || r[3] is not byte[] salt)
            return null;
        return new ScramCredentials(hash, salt, (int)iterations, stored, server);
    }

    public async Task<string?> AnonymousUserAsync()
    {
        var r = await OnLoop(() => Call("anonymous", false));
        return r.FirstOrDefault() as string;
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        var r = await OnLoop(() => Call("users", false));
        if (r.FirstOrDefault() is not List<string> users) yield break;
        foreach (var user in users) yield return user;
    }

    private async Task<bool> Flag(string op, params string?[] args)
    {
        var r = await OnLoop(() => Call(op, false, args));
        return r.FirstOrDefault() is true;
    }

    private Task<object?[]> Call(string op, bool binary, params string?[] args) => runtime.CallAuthProvider(op, host, binary, args);

    // The call starts on the loop (inline when already there); a provider that waits (DBI)
    // completes the task later, from the loop.
    private Task<object?[]> OnLoop(Func<Task<object?[]>> work) =>
        loop.IsOnLoop ? work() : loop.InvokeAsync(work).Unwrap();
}
