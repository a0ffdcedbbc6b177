using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Sasl;

namespace LuaXmpp.Tests.Sasl;

public sealed class ScramMechanismTests
{
    private const string Host = "example.com";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(byte[]? b) => Encoding.UTF8.GetString(b!);

    private static DictionaryAuthProvider Users() => new DictionaryAuthProvider().With("juliet", "r0m30");

    private static SaslServerMechanism Scram(IAuthProvider auth, ScramHash hash = ScramHash.Sha256) =>
        SaslMechanisms.Create(hash == ScramHash.Sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256", Host, auth, secure: true, allowUnencryptedPlain: false)!;

    [Fact]
    public async Task ScramSha1_MatchesRfc5802Example_WithFixedNonce()
    {
        // RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, 4096 iterations.
        var auth = new DictionaryAuthProvider().With("user", "pencil", Convert.FromBase64String("QSXCR+Q6sek8bf92"), 4096);
        var scram = new ScramMechanism(ScramHash.Sha1, Host, auth, "3rfcNHYJY1ZVvWVs7j");

        var first = await scram.StepAsync(B("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
        Assert.Equal(SaslOutcome.Challenge, first.Outcome);
        Assert.Equal("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", S(first.Data));

        var final = await scram.StepAsync(B("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
        Assert.Equal(SaslOutcome.Success, final.Outcome);
        Assert.Equal("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", S(final.Data));
        Assert.Equal("user", scram.Username);
    }

    [Fact]
    public async Task ScramSha256_MatchesRfc7677Example_WithFixedNonce()
    {
        var auth = new DictionaryAuthProvider().With("user", "pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        var scram = new ScramMechanism(ScramHash.Sha256, Host, auth, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

        var first = await scram.StepAsync(B("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", S(first.Data));

        var final = await scram.StepAsync(B("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
        Assert.Equal(SaslOutcome.Success, final.Outcome);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", S(final.Data));
    }

    [Theory]
    [InlineData(ScramHash.Sha1)]
    [InlineData(ScramHash.Sha256)]
    public async Task Scram_Succeeds_WithRandomServerNonce(ScramHash hash)
    {
        var scram = Scram(Users(), hash);
        var client = new ScramTestClient(hash, "juliet", "r0m30");

        var first = await scram.StepAsync(client.ClientFirst());
        Assert.StartsWith("r=clientnonce123", S(first.Data));
        Assert.True(S(first.Data).Split(',')[0].Length > "r=clientnonce123".Length + 24);
        var final = await scram.StepAsync(client.ClientFinal(first.Data!));

        Assert.Equal(SaslOutcome.Success, final.Outcome);
        Assert.Equal(client.ExpectedServerFinal(), S(final.Data));
        Assert.Equal("juliet", scram.Username);
    }

    [Fact]
    public async Task Scram_FailsNotAuthorized_WhenPasswordWrong()
    {
        var scram = Scram(Users());
        var client = new ScramTestClient(ScramHash.Sha256, "juliet", "wrong");
        var first = await scram.StepAsync(client.ClientFirst());

        var final = await scram.StepAsync(client.ClientFinal(first.Data!));

        Assert.Equal(SaslOutcome.Failure, final.Outcome);
        Assert.Equal("not-authorized", final.Condition);
    }

    [Fact]
    public async Task Scram_ChallengesThenFails_WhenUserUnknown()
    {
        var scram = Scram(Users());
        var client = new ScramTestClient(ScramHash.Sha256, "romeo", "r0m30");

        var first = await scram.StepAsync(client.ClientFirst());
        Assert.Equal(SaslOutcome.Challenge, first.Outcome);
        var final = await scram.StepAsync(client.ClientFinal(first.Data!));

        Assert.Equal("not-authorized", final.Condition);
    }

    [Fact]
    public async Task Scram_GivesSameFakeSalt_ForRepeatedProbesOfUnknownUser()
    {
        var one = await Scram(Users()).StepAsync(B("n,,n=romeo,r=abc"));
        var two = await Scram(Users()).StepAsync(B("n,,n=romeo,r=abc"));
        var other = await Scram(Users()).StepAsync(B("n,,n=tybalt,r=abc"));

        static string SaltAndIterations(SaslStep s) => string.Join(',', S(s.Data).Split(',')[1..]);
        Assert.Equal(SaltAndIterations(one), SaltAndIterations(two));
        Assert.NotEqual(SaltAndIterations(one), SaltAndIterations(other));
    }

    [Fact]
    public async Task ScramSha256_FailsNotAuthorized_WhenAccountHasOnlySha1Keys()
    {
        var auth = new DictionaryAuthProvider().With("juliet", "r0m30", sha256: false);
        var scram = Scram(auth);
        var client = new ScramTestClient(ScramHash.Sha256, "juliet", "r0m30");

        var first = await scram.StepAsync(client.ClientFirst());
        var final = await scram.StepAsync(client.ClientFinal(first.Data!));

        Assert.Equal("not-authorized", final.Condition);
    }

    [Fact]
    public async Task Scram_SendsEmptyChallenge_WhenNoInitialResponse()
    {
        var scram = Scram(Users());
        var client = new ScramTestClient(ScramHash.Sha256, "juliet", "r0m30");

        var empty = await scram.StepAsync([]);
        Assert.Equal(SaslOutcome.Challenge, empty.Outcome);
        Assert.Empty(empty.Data!);
        var first = await scram.StepAsync(client.ClientFirst());
        var final = await scram.StepAsync(client.ClientFinal(first.Data!));

        Assert.Equal(SaslOutcome.Success, final.Outcome);
    }

    [Theory]
    [InlineData("", "malformed-request")] // second empty message
    [InlineData("n,,r=abc", "malformed-request")]
    [InlineData("x,,n=juliet,r=abc", "malformed-request")]
    [InlineData("p=tls-unique,,n=juliet,r=abc", "malformed-request")]
    [InlineData("n,,m=ext,n=juliet,r=abc", "malformed-request")]
    [InlineData("n,,n=juliet", "malformed-request")]
    [InlineData("n,,n=juliet,r=", "malformed-request")]
    [InlineData("n,,n=juliet,x=abc", "malformed-request")]
    [InlineData("n,,n=jul=41iet,r=abc", "malformed-request")]
    [InlineData("n,,n=juliet=,r=abc", "malformed-request")]
    [InlineData("n,b=x,n=juliet,r=abc", "malformed-request")]
    [InlineData("n,,n=,r=abc", "malformed-request")]
    [InlineData("n,,n=jul@iet,r=abc", "not-authorized")]
    [InlineData("n,a=romeo@example.com,n=juliet,r=abc", "invalid-authzid")]
    [InlineData("n,a=juliet@example.com/balcony,n=juliet,r=abc", "invalid-authzid")]
    public async Task Scram_Fails_WhenClientFirstInvalid(string message, string condition)
    {
        var scram = Scram(Users());
        if (message.Length == 0) await scram.StepAsync([]);

        var step = await scram.StepAsync(B(message));

        Assert.Equal(SaslOutcome.Failure, step.Outcome);
        Assert.Equal(condition, step.Condition);
    }

    [Theory]
    [InlineData("y,,n=juliet,r=abc")]
    [InlineData("n,a=juliet@example.com,n=juliet,r=abc")]
    [InlineData("n,a=Juliet@Example.COM,n=juliet,r=abc")]
    [InlineData("n,,n=JULIET,r=abc")]
    public async Task Scram_Challenges_WhenClientFirstAcceptable(string message)
    {
        var step = await Scram(Users()).StepAsync(B(message));

        Assert.Equal(SaslOutcome.Challenge, step.Outcome);
    }

    [Fact]
    public async Task Scram_UnescapesSaslname_BeforePreparingUsername()
    {
        var scram = Scram(Users());

        var step = await scram.StepAsync(B("n,,n=a=2Cb=3Dc,r=abc"));

        Assert.Equal(SaslOutcome.Challenge, step.Outcome);
        Assert.Equal("a,b=c", scram.Username);
    }

    [Fact]
    public async Task Scram_FailsIncorrectEncoding_WhenNotUtf8()
    {
        var step = await Scram(Users()).StepAsync([0x6E, 0x2C, 0x2C, 0xC3, 0x28]);

        Assert.Equal("incorrect-encoding", step.Condition);
    }

    [Theory]
    [InlineData("p=abc")]
    [InlineData("c=biws,r={nonce}")]
    [InlineData("r={nonce},c=biws,p={proof}")]
    [InlineData("c=!!!,r={nonce},p={proof}")]
    [InlineData("c=biws,r={nonce},p=!!!")]
    [InlineData("c=biws,r={nonce} x,p={proof}")]
    public async Task Scram_FailsMalformed_WhenClientFinalInvalid(string template)
    {
        var (scram, nonce, proof) = await StartAsync();

        var step = await scram.StepAsync(B(template.Replace("{nonce}", nonce).Replace("{proof}", proof)));

        Assert.Equal("malformed-request", step.Condition);
    }

    [Theory]
    [InlineData("c=eSws,r={nonce},p={proof}")] // "y,," while the client sent "n,,"
    [InlineData("c=biws,r={nonce}X,p={proof}")]
    [InlineData("c=biws,r={nonce},p=AAAA")]
    public async Task Scram_FailsNotAuthorized_WhenClientFinalDoesNotMatch(string template)
    {
        var (scram, nonce, proof) = await StartAsync();

        var step = await scram.StepAsync(B(template.Replace("{nonce}", nonce).Replace("{proof}", proof)));

        Assert.Equal("not-authorized", step.Condition);
    }

    [Fact]
    public async Task Scram_Throws_WhenSteppedAfterFailure()
    {
        var scram = Scram(Users());
        await scram.StepAsync(B("garbage"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => scram.StepAsync(B("n,,n=juliet,r=abc")));
    }

    /// <summary>A mechanism after server-first, and the nonce and a correct proof for the next message.</summary>
    private static async Task<(SaslServerMechanism Scram, string Nonce, string Proof)> StartAsync()
    {
        var scram = Scram(Users());
        var client = new ScramTestClient(ScramHash.Sha256, "juliet", "r0m30");
        var first = await scram.StepAsync(client.ClientFirst());
        var final = S(client.ClientFinal(first.Data!));
        var attrs = final.Split(',');
        return (scram, attrs[1][2..], attrs[2][2..]);
    }
}
