using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Storage;

namespace LuaXmpp.Tests.Accounts;

/// <summary>Both internal providers over both persistent and memory storage.</summary>
public abstract class AuthProviderContractTests : IDisposable
{
    protected const string Host = "example.com";

    private readonly TempDirectory _dir = new();

    protected AuthProviderContractTests(string authentication, string storage)
    {
        var config = ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = storage, ["authentication"] = authentication }, Host);
        Storage = new StorageManager(config, _dir.Path);
        Provider = AuthProviders.Create(Host, config, Storage);
    }

    protected StorageManager Storage { get; }

    protected IAuthProvider Provider { get; }

    public void Dispose()
    {
        Storage.Dispose();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Create_ThenTestPassword()
    {
        Assert.True(await Provider.CreateUserAsync("alice", "secret pässword"));

        Assert.True(await Provider.UserExistsAsync("alice"));
        Assert.True(await Provider.TestPasswordAsync("alice", "secret pässword"));
        Assert.False(await Provider.TestPasswordAsync("alice", "wrong"));
        Assert.False(await Provider.TestPasswordAsync("bob", "secret pässword"));
    }

    [Fact]
    public async Task Create_ExistingUser_ReturnsFalseAndKeepsPassword()
    {
        await Provider.CreateUserAsync("alice", "one");

        Assert.False(await Provider.CreateUserAsync("alice", "two"));
        Assert.True(await Provider.TestPasswordAsync("alice", "one"));
    }

    [Theory]
    [InlineData(ScramHash.Sha1)]
    [InlineData(ScramHash.Sha256)]
    public async Task ScramCredentials_MatchDerivedKeys(ScramHash hash)
    {
        await Provider.CreateUserAsync("alice", "pw");

        var creds = await Provider.GetScramCredentialsAsync("alice", hash);

        Assert.NotNull(creds);
        Assert.Equal(hash, creds.Hash);
        Assert.True(creds.Salt.Length >= 16);
        var expected = ScramKeys.Derive(hash, "pw", creds.Salt, creds.Iterations);
        Assert.Equal(expected.StoredKey, creds.StoredKey);
        Assert.Equal(expected.ServerKey, creds.ServerKey);
        Assert.Equal(ScramKeys.DefaultIterations, creds.Iterations);
        Assert.Null(await Provider.GetScramCredentialsAsync("nobody", hash));
    }

    [Fact]
    public async Task SetPassword_ChangesPasswordAndKeys()
    {
        await Provider.CreateUserAsync("alice", "old");
        var before = await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256);

        Assert.True(await Provider.SetPasswordAsync("alice", "new"));
        Assert.False(await Provider.SetPasswordAsync("bob", "new"));

        Assert.True(await Provider.TestPasswordAsync("alice", "new"));
        Assert.False(await Provider.TestPasswordAsync("alice", "old"));
        var after = await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256);
        Assert.NotEqual(before!.StoredKey, after!.StoredKey);
        Assert.Equal(ScramKeys.Derive(ScramHash.Sha256, "new", after.Salt, after.Iterations).StoredKey, after.StoredKey);
    }

    [Fact]
    public async Task Delete_RemovesUser()
    {
        await Provider.CreateUserAsync("alice", "pw");

        Assert.True(await Provider.DeleteUserAsync("alice"));
        Assert.False(await Provider.DeleteUserAsync("alice"));
        Assert.False(await Provider.UserExistsAsync("alice"));
        Assert.False(await Provider.TestPasswordAsync("alice", "pw"));
    }

    [Fact]
    public async Task Users_ListsAccounts()
    {
        await Provider.CreateUserAsync("alice", "pw");
        await Provider.CreateUserAsync("bob", "pw");
        var users = new List<string>();
        await foreach (var u in Provider.UsersAsync()) users.Add(u);

        Assert.Equal(["alice", "bob"], users.Order());
    }
}

public sealed class InternalHashedSqliteTests() : AuthProviderContractTests("internal_hashed", "sql")
{
    [Fact]
    public async Task Hashed_StoresProsodyFields()
    {
        await Provider.CreateUserAsync("alice", "pw");

        var account = (await Storage.OpenKeyValue(Host, "accounts").GetAsync("alice"))!;

        Assert.Equal("internal_hashed", Provider.Name);
        Assert.False(account.ContainsKey("password"));
        var salt = Assert.IsType<string>(account["salt"]);
        Assert.True(Guid.TryParse(salt, out _)); // Prosody uses a UUID string as the salt
        Assert.Equal((long)ScramKeys.DefaultIterations, account["iteration_count"]);
        var sha1 = ScramKeys.Derive(ScramHash.Sha1, "pw", Encoding.UTF8.GetBytes(salt), ScramKeys.DefaultIterations);
        Assert.Equal(Convert.ToHexStringLower(sha1.StoredKey), account["stored_key"]);
        Assert.Equal(Convert.ToHexStringLower(sha1.ServerKey), account["server_key"]);
        Assert.Equal(64, Assert.IsType<string>(account["stored_key_sha256"]).Length);
    }

    [Fact]
    public async Task Hashed_AccountWithoutSha256Keys_IsUpgradedOnPasswordCheck()
    {
        await Provider.CreateUserAsync("alice", "pw");
        var accounts = Storage.OpenKeyValue(Host, "accounts");
        var account = (await accounts.GetAsync("alice"))!;
        account.Remove("stored_key_sha256");
        account.Remove("server_key_sha256");
        account.Remove("salt_sha256");
        await accounts.SetAsync("alice", account);

        Assert.Null(await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
        Assert.False(await Provider.TestPasswordAsync("alice", "wrong"));
        Assert.Null(await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
        Assert.True(await Provider.TestPasswordAsync("alice", "pw"));

        var creds = await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256);
        Assert.NotNull(creds);
        Assert.Equal(ScramKeys.Derive(ScramHash.Sha256, "pw", creds.Salt, creds.Iterations).ServerKey, creds.ServerKey);
    }

    [Fact]
    public async Task Hashed_Sha256KeysFromAnOldSalt_AreIgnored()
    {
        await Provider.CreateUserAsync("alice", "pw");
        var accounts = Storage.OpenKeyValue(Host, "accounts");
        var account = (await accounts.GetAsync("alice"))!;
        // What Prosody's set_password leaves: a new salt and SHA-1 keys, our old SHA-256 fields untouched.
        var salt = Guid.NewGuid().ToString();
        var sha1 = ScramKeys.Derive(ScramHash.Sha1, "changed", Encoding.UTF8.GetBytes(salt), ScramKeys.DefaultIterations);
        account["salt"] = salt;
        account["stored_key"] = Convert.ToHexStringLower(sha1.StoredKey);
        account["server_key"] = Convert.ToHexStringLower(sha1.ServerKey);
        await accounts.SetAsync("alice", account);

        Assert.Null(await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
        Assert.True(await Provider.TestPasswordAsync("alice", "changed"));
        Assert.NotNull(await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
    }

    [Fact]
    public async Task Hashed_LegacyPlaintextPassword_IsCheckedAndHashed()
    {
        await Storage.OpenKeyValue(Host, "accounts").SetAsync("old", new DataTable { ["password"] = "legacy" });

        Assert.False(await Provider.TestPasswordAsync("old", "nope"));
        Assert.True(await Provider.TestPasswordAsync("old", "legacy"));

        var account = (await Storage.OpenKeyValue(Host, "accounts").GetAsync("old"))!;
        Assert.False(account.ContainsKey("password"));
        Assert.True(await Provider.TestPasswordAsync("old", "legacy"));
    }
}

public sealed class InternalHashedMemoryTests() : AuthProviderContractTests("internal_hashed", "memory");

public sealed class InternalPlainSqliteTests() : AuthProviderContractTests("internal_plain", "sql")
{
    [Fact]
    public async Task Plain_StoresPasswordField()
    {
        await Provider.CreateUserAsync("alice", "pw");

        Assert.Equal("internal_plain", Provider.Name);
        Assert.Equal(new DataTable { ["password"] = "pw" }, await Storage.OpenKeyValue(Host, "accounts").GetAsync("alice"));
    }

    [Fact]
    public async Task Plain_ScramSalt_IsStablePerAccount()
    {
        await Provider.CreateUserAsync("alice", "pw");

        var a = await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha1);
        var b = await Provider.GetScramCredentialsAsync("alice", ScramHash.Sha1);

        Assert.Equal(a!.Salt, b!.Salt);
    }
}

public sealed class InternalPlainMemoryTests() : AuthProviderContractTests("internal_plain", "memory");
