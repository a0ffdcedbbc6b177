using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Clients;

/// <summary>Account creation: XEP-0077 in-band registration and the administrative CLI.</summary>
public sealed class RegistrationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task InBandRegistration_CreatesAccount_ThatCanLogIn()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var registration = await PythonClient.RunAsync(server, "register.py",
            "--jid", server.Jid("newbie"), "--password", "fresh-pass");
        var login = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("newbie"), "--password", "fresh-pass");

        registration.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.True(r["register_feature_offered"].GetBoolean());
            Assert.Contains("username", r.Strings("form_fields"));
            Assert.Contains("password", r.Strings("form_fields"));
            Assert.Equal("ok", r.String("registration"));
        });
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task InBandRegistration_FailsWithConflict_WhenUserExists()
    {
        await using var server = await ServerProcess.StartAsync(output);
        await server.RegisterAsync("taken", "original-pass");

        var registration = await PythonClient.RunAsync(server, "register.py",
            "--jid", server.Jid("taken"), "--password", "hijack-pass", "--expect-conflict");
        var login = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("taken"), "--password", "original-pass");

        registration.Check(r => Assert.Equal("conflict", r.String("registration")));
        login.Check(r => Assert.True(r.Ok));
    }

    [Fact]
    public async Task CliRegister_CreatesAccount_ThatCanLogIn()
    {
        await using var server = await ServerProcess.StartAsync(output);

        var cli = await server.RunCliAsync("register", "clia", server.Host, "cli-pass");
        var login = await PythonClient.RunAsync(server, "login.py",
            "--jid", server.Jid("clia"), "--password", "cli-pass");

        server.Check(() => Assert.True(cli.ExitCode == 0, cli.ToString()));
        login.Check(r => Assert.True(r.Ok));
    }
}
