using LuaXmpp.LuaBridge.Configuration;

namespace LuaXmpp.Tests.Configuration;

public sealed class ConfigCheckerTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly HashSet<string> Installed = ["roster", "saslauth", "ping", "muc", "tls"];

    private IReadOnlyList<ConfigProblem> Check(string text) =>
        ConfigChecker.Check(ConfigLoader.Load(_dir.Write("prosody.cfg.lua", text)), Installed.Contains);

    [Fact]
    public void Check_NoVirtualHost_IsAnError()
    {
        var problems = Check("modules_enabled = { \"roster\" }\n");

        Assert.Contains(problems, p => p.IsError && p.Message.Contains("No hosts are defined"));
    }

    [Fact]
    public void Check_AllHostsDisabled_IsAnError()
    {
        var problems = Check("modules_enabled = { }\nVirtualHost \"a.example\"\nenabled = false\n");

        Assert.Contains(problems, p => p.IsError && p.Message.Contains("All hosts are disabled"));
    }

    [Fact]
    public void Check_HostAtTheTop_ReportsMissingGlobalOptions()
    {
        var problems = Check("VirtualHost \"a.example\"\nmodules_enabled = { }\n");

        Assert.Contains(problems, p => p.IsError && p.Message.Contains("No global options"));
    }

    [Fact]
    public void Check_UnknownModules_AreNamedInAWarning()
    {
        var problems = Check("""
            modules_enabled = { "roster", "nosuchmodule" }
            c2s_require_encryption = false
            VirtualHost "a.example"
              modules_enabled = { "ping", "othermissing" }
            Component "rooms.a.example" "muc"
            """);

        var warning = Assert.Single(problems, p => p.Message.Contains("could not be found"));
        Assert.False(warning.IsError);
        Assert.Contains("nosuchmodule", warning.Message);
        Assert.Contains("othermissing", warning.Message);
        Assert.DoesNotContain("roster", warning.Message);
        Assert.DoesNotContain("muc", warning.Message);
        Assert.DoesNotContain(problems, p => p.IsError);
    }

    [Fact]
    public void Check_RequireEncryptionWithoutCertificates_Warns()
    {
        var problems = Check("c2s_require_encryption = true\nmodules_enabled = { }\nVirtualHost \"a.example\"\n");

        Assert.Contains(problems, p => !p.IsError && p.Message.Contains("No certificate found for a.example"));
    }

    [Fact]
    public void Check_RequireEncryptionWithCertificates_DoesNotWarn()
    {
        _dir.Write("certs/a.example.crt", "not read by the check");
        _dir.Write("certs/a.example.key", "not read by the check");

        var problems = Check("c2s_require_encryption = true\nmodules_enabled = { }\nVirtualHost \"a.example\"\n");

        Assert.DoesNotContain(problems, p => p.Message.Contains("No certificate"));
    }

    [Fact]
    public void Check_MisspeltOption_SuggestsTheKnownName()
    {
        var problems = Check("modules_enabeld = { }\nc2s_require_encryption = false\nVirtualHost \"a.example\"\n");

        Assert.Contains(problems, p => !p.IsError && p.Message.Contains("'modules_enabeld'") && p.Message.Contains("'modules_enabled'"));
    }

    [Fact]
    public void Check_GlobalOnlyOptionUnderHost_IsReportedAsMisplaced()
    {
        var problems = Check("modules_enabled = { }\nc2s_require_encryption = false\nVirtualHost \"a.example\"\nc2s_ports = { 5222 }\nlog = \"x\"\n");

        var misplaced = Assert.Single(problems, p => p.Message.Contains("only work in the global section"));
        Assert.Contains("c2s_ports", misplaced.Message);
        Assert.Contains("log", misplaced.Message);
    }

    [Fact]
    public void Check_CleanConfig_HasNoProblems()
    {
        var problems = Check("""
            admins = { }
            modules_enabled = { "roster", "saslauth", "ping" }
            c2s_require_encryption = false
            VirtualHost "a.example"
            """);

        Assert.Empty(problems);
    }
}
