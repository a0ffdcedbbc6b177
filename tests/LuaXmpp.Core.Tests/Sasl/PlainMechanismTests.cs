using System.Text;
using LuaXmpp.Sasl;

namespace LuaXmpp.Tests.Sasl;

public sealed class PlainMechanismTests
{
    private static SaslServerMechanism Plain() =>
        SaslMechanisms.Create("PLAIN", "example.com", new DictionaryAuthProvider().With("juliet", "r0m30").With("x", "p\u00E4ss"), secure: true, allowUnencryptedPlain: false)!;

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("\0juliet\0r0m30")]
    [InlineData("juliet@example.com\0juliet\0r0m30")]
    [InlineData("JULIET@example.com\0Juliet\0r0m30")]
    [InlineData("\0x\0pa\u0308ss")] // NFKC by SASLprep composes the umlaut
    [InlineData("\0juliet\u00AD\0r0m30")] // soft hyphen mapped to nothing
    public async Task Plain_Succeeds_WhenCredentialsMatch(string message)
    {
        var plain = Plain();

        var step = await plain.StepAsync(B(message));

        Assert.Equal(SaslOutcome.Success, step.Outcome);
        Assert.NotNull(plain.Username);
    }

    [Theory]
    [InlineData("\0juliet\0wrong", "not-authorized")]
    [InlineData("\0romeo\0r0m30", "not-authorized")]
    [InlineData("\0jul@iet\0r0m30", "not-authorized")]
    [InlineData("\0juliet\0r0m30\u0007", "not-authorized")] // password with a control character fails SASLprep
    [InlineData("romeo@example.com\0juliet\0r0m30", "invalid-authzid")]
    [InlineData("juliet@example.org\0juliet\0r0m30", "invalid-authzid")]
    [InlineData("juliet@example.com/r\0juliet\0r0m30", "invalid-authzid")]
    [InlineData("juliet\0r0m30", "malformed-request")]
    [InlineData("\0\0r0m30", "malformed-request")]
    [InlineData("\0juliet\0", "malformed-request")]
    [InlineData("\0juliet\0r0m30\0extra", "malformed-request")]
    public async Task Plain_Fails_WhenMessageRejected(string message, string condition)
    {
        var step = await Plain().StepAsync(B(message));

        Assert.Equal(SaslOutcome.Failure, step.Outcome);
        Assert.Equal(condition, step.Condition);
    }

    [Fact]
    public async Task Plain_FailsIncorrectEncoding_WhenNotUtf8()
    {
        var step = await Plain().StepAsync([0, 0x6A, 0, 0xFF]);

        Assert.Equal("incorrect-encoding", step.Condition);
    }

    [Fact]
    public async Task Plain_ChallengesOnce_WhenNoInitialResponse()
    {
        var plain = Plain();

        var challenge = await plain.StepAsync([]);
        var step = await plain.StepAsync(B("\0juliet\0r0m30"));

        Assert.Equal(SaslOutcome.Challenge, challenge.Outcome);
        Assert.Empty(challenge.Data!);
        Assert.Equal(SaslOutcome.Success, step.Outcome);
        Assert.Equal("juliet", plain.Username);
    }

    [Fact]
    public async Task Plain_FailsMalformed_WhenResponseToChallengeEmpty()
    {
        var plain = Plain();
        await plain.StepAsync([]);

        var step = await plain.StepAsync([]);

        Assert.Equal("malformed-request", step.Condition);
    }
}
