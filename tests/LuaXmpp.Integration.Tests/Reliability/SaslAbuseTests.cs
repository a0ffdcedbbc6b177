using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// SASL abuse (RFC 6120 §6.5, RFC 5802): malformed exchanges get the defined failure and the
/// stream stays usable; a replayed SCRAM proof never authenticates; repeated wrong passwords are
/// answered ever later (AuthFailureThrottle) while a correct password still gets in. Each test has
/// its own server: the throttle counts every failure from 127.0.0.1.
/// </summary>
public sealed class SaslAbuseTests(ITestOutputHelper output)
{
    private const string Host = "localhost";

    private static async Task<(ServerProcess Server, XmppSocketClient Client)> StartAsync(ITestOutputHelper output, params string[] users)
    {
        var server = await ServerProcess.StartAsync(output);
        foreach (var user in users)
        {
            await using var registrar = await XmppSocketClient.ConnectAsync(server.C2sPort);
            await registrar.OpenStreamAsync(Host);
            await registrar.StartTlsAsync(Host);
            await registrar.OpenStreamAsync(Host);
            var reply = await registrar.RegisterAsync(user, "right-" + user);
            Assert.Equal("result", (string?)reply.Attribute("type"));
        }

        return (server, await SecureStreamAsync(server));
    }

    /// <summary>A stream after STARTTLS, from 127.0.0.1 or from <paramref name="address"/> (any of 127/8).</summary>
    private static async Task<XmppSocketClient> SecureStreamAsync(ServerProcess server, string? address = null)
    {
        var client = address is null
            ? await XmppSocketClient.ConnectAsync(server.C2sPort)
            : await XmppSocketClient.ConnectFromAsync(System.Net.IPAddress.Parse(address), server.C2sPort);
        await client.OpenStreamAsync(Host);
        await client.StartTlsAsync(Host);
        await client.OpenStreamAsync(Host);
        return client;
    }

    private static Task<XElement> OutcomeAsync(XmppSocketClient client) =>
        client.WaitForAsync(e => e.Name.LocalName is "success" or "failure" or "challenge", "SASL answer", TimeSpan.FromSeconds(60));

    private static string? Condition(XElement failure) => failure.Elements().FirstOrDefault(e => e.Name.LocalName != "text")?.Name.LocalName;

    public static TheoryData<string, string, string> MalformedExchanges => new()
    {
        { "bad base64", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>@@not*base64@@</auth>", "incorrect-encoding" },
        { "unknown mechanism", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-NOPE'>AGEAYg==</auth>", "invalid-mechanism" },
        { "empty mechanism name", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism=''/>", "invalid-mechanism" },
        { "response without auth", "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AGEAYg==</response>", "malformed-request" },
    };

    [Theory]
    [MemberData(nameof(MalformedExchanges))]
    public async Task Sasl_MalformedExchange_FailsCleanly_AndCorrectLoginStillWorks(string what, string input, string condition)
    {
        output.WriteLine("case: " + what);
        var (server, client) = await StartAsync(output, "alice");
        await using var _ = server;
        await using var __ = client;

        await client.SendAsync(input);
        var failure = await OutcomeAsync(client);
        var success = await client.AuthPlainAsync("alice", "right-alice");

        server.Check(() =>
        {
            Assert.Equal("failure", failure.Name.LocalName);
            Assert.Equal(condition, Condition(failure));
            Assert.Equal("success", success.Name.LocalName);
        });
    }

    /// <summary>RFC 6120 §6.4.2: an empty PLAIN response carries no credentials and must not authenticate.</summary>
    [Fact]
    public async Task Sasl_EmptyPlainResponse_IsRefused()
    {
        var (server, client) = await StartAsync(output, "alice");
        await using var _ = server;
        await using var __ = client;

        await client.SendAsync("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>");
        var first = await OutcomeAsync(client);
        if (first.Name.LocalName == "challenge") await client.SendAsync("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</response>");
        var outcome = first.Name.LocalName == "challenge" ? await OutcomeAsync(client) : first;
        var success = await client.AuthPlainAsync("alice", "right-alice");

        output.WriteLine($"first answer: {first}; outcome: {outcome}");
        server.Check(() =>
        {
            Assert.Equal("failure", outcome.Name.LocalName);
            Assert.Equal("success", success.Name.LocalName);
        });
    }

    /// <summary>RFC 5802 §9: the server nonce makes every exchange unique, so a captured
    /// client-final message replayed on a new connection (same client-first) must fail.</summary>
    [Theory]
    [InlineData("SCRAM-SHA-1")]
    [InlineData("SCRAM-SHA-256")]
    public async Task Scram_ReplayedClientFinal_OnNewConnection_Fails(string mechanism)
    {
        var (server, first) = await StartAsync(output, "alice");
        await using var _ = server;
        var scram = new ScramClient(mechanism, "alice", "right-alice");

        string clientFinal;
        await using (first)
        {
            var ok = await scram.AuthenticateAsync(first);
            Assert.True(ok.Success, "the genuine SCRAM exchange failed: " + ok.Answer);
            clientFinal = ok.ClientFinal;
        }

        await using var replay = await SecureStreamAsync(server);
        await replay.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>{B64(scram.ClientFirst)}</auth>");
        var challenge = await OutcomeAsync(replay);
        await replay.SendAsync($"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{B64(clientFinal)}</response>");
        var outcome = await OutcomeAsync(replay);

        server.Check(() =>
        {
            Assert.Equal("challenge", challenge.Name.LocalName);
            Assert.NotEqual(scram.ServerFirst, Encoding.UTF8.GetString(Convert.FromBase64String(challenge.Value)));
            Assert.Equal("failure", outcome.Name.LocalName);
        });
    }

    /// <summary>
    /// Brute force: after <c>FreeFailures</c> (2) free guesses every further wrong answer comes later
    /// (1 s, 2 s, ...). Only lower bounds on time are asserted. The correct password of another
    /// account still works afterwards (after its own delay, as the address is the same).
    /// </summary>
    [Fact]
    public async Task BruteForce_WrongPasswords_AreAnsweredEverLater_AndOtherAccountStillLogsIn()
    {
        var (server, client) = await StartAsync(output, "victim", "other");
        await using var _ = server;
        await using var __ = client;
        var answered = new List<double>();

        for (int i = 1; i <= 5; i++)
        {
            var clock = Stopwatch.StartNew();
            var outcome = await client.AuthPlainAsync("victim", "guess-" + i);
            answered.Add(clock.Elapsed.TotalSeconds);
            Assert.Equal("failure", outcome.Name.LocalName);
        }

        var login = Stopwatch.StartNew();
        await using var other = await SecureStreamAsync(server);
        var success = await other.AuthPlainAsync("other", "right-other");
        double loginSeconds = login.Elapsed.TotalSeconds;
        int logged = ServerLog.Count(server, "Failed authentication attempt (not-authorized) for user victim@localhost from IP: 127.0.0.1");

        output.WriteLine("seconds to each failure: " + string.Join(", ", answered.Select(s => s.ToString("F2"))) + $"; correct login: {loginSeconds:F2}");
        server.Check(() =>
        {
            // Failures 4 and 5 follow 3 and 4 recorded failures: at least 1 s and 2 s.
            Assert.True(answered[3] >= 0.95, $"4th failure answered after {answered[3]:F2} s, expected at least 1 s");
            Assert.True(answered[4] >= 1.95, $"5th failure answered after {answered[4]:F2} s, expected at least 2 s");
            Assert.True(answered[4] > answered[3], "the delay did not grow");
            Assert.Equal("success", success.Name.LocalName);
            Assert.Equal(5, logged);
        });
    }

    /// <summary>
    /// Issue 16, item 6: guesses spread over 16 addresses, PLAIN, at one account. Each address's
    /// first guess is free; its second is delayed by the account's failures elsewhere (capped),
    /// while the owner's correct login from an address with no failures is not delayed at all.
    /// Every failure is logged once with the account and the address (fail2ban).
    /// </summary>
    [Fact]
    public async Task DistributedBruteForce_IsDelayed_ButOwnerFromCleanAddressIsNot()
    {
        var (server, first) = await StartAsync(output, "victim");
        await using var _ = server;
        await first.DisposeAsync();
        var attackers = await Task.WhenAll(Enumerable.Range(2, 16).Select(i => SecureStreamAsync(server, $"127.0.0.{i}")));
        try
        {
            foreach (var attacker in attackers)
            {
                Assert.Equal("failure", (await attacker.AuthPlainAsync("victim", "guess-1")).Name.LocalName);
            }

            var seconds = await Task.WhenAll(attackers.Select(async attacker =>
            {
                var clock = Stopwatch.StartNew();
                var outcome = await attacker.AuthPlainAsync("victim", "guess-2");
                Assert.Equal("failure", outcome.Name.LocalName);
                return clock.Elapsed.TotalSeconds;
            }));

            await using var owner = await SecureStreamAsync(server, "127.0.0.100");
            var login = Stopwatch.StartNew();
            var success = await owner.AuthPlainAsync("victim", "right-victim");
            double loginSeconds = login.Elapsed.TotalSeconds;
            int logged = ServerLog.Count(server, "Failed authentication attempt (not-authorized) for user victim@localhost from IP: 127.0.0.");

            output.WriteLine($"second guesses answered after {seconds.Min():F2}..{seconds.Max():F2} s; owner's login from a clean address: {loginSeconds:F3} s; {logged} failure lines");
            server.Check(() =>
            {
                Assert.All(seconds, s => Assert.True(s >= 0.95, $"a second guess was answered after {s:F2} s, expected a delay"));
                Assert.Equal("success", success.Name.LocalName);
                Assert.True(loginSeconds < 1, $"the owner's login took {loginSeconds:F2} s");
                Assert.Equal(32, logged);
            });
        }
        finally
        {
            foreach (var attacker in attackers) await attacker.DisposeAsync();
        }
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>The client side of RFC 5802 SCRAM, without channel binding (gs2 header "n,,").</summary>
    private sealed class ScramClient(string mechanism, string user, string password)
    {
        private readonly HashAlgorithmName _hash = mechanism == "SCRAM-SHA-1" ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;

        public string ClientFirst { get; } = $"n,,n={user},r={Convert.ToHexString(RandomNumberGenerator.GetBytes(12))}";

        public string ServerFirst { get; private set; } = "";

        public async Task<(bool Success, string ClientFinal, XElement Answer)> AuthenticateAsync(XmppSocketClient client)
        {
            await client.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>{B64(ClientFirst)}</auth>");
            var challenge = await OutcomeAsync(client);
            if (challenge.Name.LocalName != "challenge") return (false, "", challenge);
            ServerFirst = Encoding.UTF8.GetString(Convert.FromBase64String(challenge.Value));
            var fields = ServerFirst.Split(',').ToDictionary(f => f[..1], f => f[2..]);
            var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(fields["s"]),
                int.Parse(fields["i"]), _hash, _hash == HashAlgorithmName.SHA1 ? 20 : 32);
            var clientKey = Hmac(salted, "Client Key");
            var storedKey = _hash == HashAlgorithmName.SHA1 ? SHA1.HashData(clientKey) : SHA256.HashData(clientKey);
            var withoutProof = $"c=biws,r={fields["r"]}";
            var authMessage = $"{ClientFirst[3..]},{ServerFirst},{withoutProof}";
            var signature = Hmac(storedKey, authMessage);
            var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
            var clientFinal = $"{withoutProof},p={Convert.ToBase64String(proof)}";
            await client.SendAsync($"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{B64(clientFinal)}</response>");
            var answer = await OutcomeAsync(client);
            return (answer.Name.LocalName == "success", clientFinal, answer);
        }

        private byte[] Hmac(byte[] key, string text) => _hash == HashAlgorithmName.SHA1
            ? HMACSHA1.HashData(key, Encoding.UTF8.GetBytes(text))
            : HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text));
    }
}
