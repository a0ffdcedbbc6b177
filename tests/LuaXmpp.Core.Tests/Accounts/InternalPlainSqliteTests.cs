using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Storage;

namespace LuaXmpp.Tests.Accounts;

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
