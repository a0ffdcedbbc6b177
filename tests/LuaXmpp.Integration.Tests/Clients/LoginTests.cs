using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>RFC 6120 §5 (STARTTLS), §6 (SASL), §7 (bind) with a real client (slixmpp).</summary>
public sealed class LoginTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("SCRAM-SHA-1")]
    [InlineData("SCRAM-SHA-256")]
    public async Task Login_UsesRequestedScramMechanism_OverStartTls(string mechanism)
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("alice", "s3cret-alice");

        var result = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("alice"), "--password", "s3cret-alice", "--mech", mechanism);

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(mechanism, r.String("mechanism"));
            Assert.Contains(mechanism, r.Strings("mechanisms_offered"));
            Assert.True(r["tls"].GetBoolean());
            Assert.StartsWith(server.Jid("alice") + "/", r.String("bound_jid"));
            // c2s_require_encryption: the first features offer only STARTTLS (RFC 6120 §5.3.1).
            Assert.Equal(["{urn:ietf:params:xml:ns:xmpp-tls}starttls"], r["stream_features"][0].EnumerateArray().Select(e => e.GetString()));
        });
    }

    [Fact]
    public async Task Login_Succeeds_OverDirectTlsPort()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("alice", "s3cret-alice");

        var result = await PythonClient.RunDirectTlsAsync(server, "login.py",
            "--jid", server.Jid("alice"), "--password", "s3cret-alice");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.StartsWith(server.Jid("alice") + "/", r.String("bound_jid"));
            // Already encrypted: the first features must not offer STARTTLS again (XEP-0368).
            Assert.DoesNotContain("{urn:ietf:params:xml:ns:xmpp-tls}starttls",
                r["stream_features"][0].EnumerateArray().Select(e => e.GetString()));
        });
    }

    [Fact]
    public async Task Login_FailsWithNotAuthorized_WhenPasswordWrong()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("alice", "s3cret-alice");

        var result = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("alice"), "--password", "not-her-password", "--mech", "SCRAM-SHA-1", "--expect-failure");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.False(r["authenticated"].GetBoolean());
            Assert.Equal(["not-authorized"], r.Strings("auth_failures"));
        });
    }

    [Fact]
    public async Task Login_FailsWithNotAuthorized_WhenUserUnknown()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var result = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("nobody"), "--password", "whatever", "--mech", "PLAIN", "--expect-failure");

        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(["not-authorized"], r.Strings("auth_failures"));
        });
    }
}
