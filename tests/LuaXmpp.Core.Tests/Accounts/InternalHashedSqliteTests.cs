using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Storage;

namespace LuaXmpp.Tests.Accounts;

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
