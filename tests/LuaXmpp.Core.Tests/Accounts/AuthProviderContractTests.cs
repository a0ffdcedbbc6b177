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
