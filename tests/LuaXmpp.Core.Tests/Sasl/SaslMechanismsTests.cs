using LuaXmpp.Sasl;

namespace LuaXmpp.Tests.Sasl;

public sealed class SaslMechanismsTests
{
    private readonly DictionaryAuthProvider _auth = new DictionaryAuthProvider().With("juliet", "r0m30");

    [Theory]
    [InlineData(true, false, "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN")]
    [InlineData(false, true, "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN")]
    [InlineData(false, false, "SCRAM-SHA-256 SCRAM-SHA-1")]
    public void Offered_ListsStrongestFirst_AndPlainOnlyWhenAllowed(bool secure, bool allowPlain, string expected)
    {
        Assert.Equal(expected, string.Join(' ', SaslMechanisms.Offered(secure, allowPlain)));
    }

    [Theory]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-1")]
    [InlineData("PLAIN")]
    public void Create_ReturnsNamedMechanism_WhenOffered(string name)
    {
        var mechanism = SaslMechanisms.Create(name, "example.com", _auth, secure: true, allowUnencryptedPlain: false);

        Assert.Equal(name, mechanism?.Name);
    }

    [Theory]
    [InlineData("DIGEST-MD5")]
    [InlineData("SCRAM-SHA-1-PLUS")]
    [InlineData("plain")]
    [InlineData("")]
    public void Create_ReturnsNull_WhenMechanismUnknown(string name)
    {
        Assert.Null(SaslMechanisms.Create(name, "example.com", _auth, secure: true, allowUnencryptedPlain: true));
    }

    [Fact]
    public async Task Create_RefusesPlainWithEncryptionRequired_WhenStreamInsecure()
    {
        var plain = SaslMechanisms.Create("PLAIN", "example.com", _auth, secure: false, allowUnencryptedPlain: false);

        var step = await plain!.StepAsync("\0juliet\0r0m30"u8.ToArray());

        Assert.Equal(SaslOutcome.Failure, step.Outcome);
        Assert.Equal("encryption-required", step.Condition);
    }

    [Fact]
    public async Task Create_AllowsPlain_WhenInsecureButConfigured()
    {
        var plain = SaslMechanisms.Create("PLAIN", "example.com", _auth, secure: false, allowUnencryptedPlain: true);

        var step = await plain!.StepAsync("\0juliet\0r0m30"u8.ToArray());

        Assert.Equal(SaslOutcome.Success, step.Outcome);
    }
}
