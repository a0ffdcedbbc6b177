using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Cli;

/// <summary>The publish step of docs/OPERATIONS.md yields one luaxmpp executable with modules/ beside it, and it serves.</summary>
public sealed class InstallTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DocumentedPublish_YieldsOneExecutable_WithModules_ThatServes()
    {
        var root = RepositoryRoot();
        var target = Directory.CreateTempSubdirectory("luaxmpp-publish-").FullName;
        try
        {
            var publish = await ChildProcess.RunAsync("dotnet",
                ["publish", Path.Combine(root, "src", "Host"), "-c", "Release", "-r", "linux-x64", "--self-contained", "false",
                 "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true", "-p:DebugType=embedded", "-o", target],
                root, TimeSpan.FromMinutes(8));
            Assert.True(publish.ExitCode == 0, publish.ToString());
            var executable = Path.Combine(target, "luaxmpp");

            await using var server = await ServerProcess.CreateAsync(output);
            var about = await ChildProcess.RunAsync(executable, ["--config", server.ConfigPath, "about"], server.Directory, TimeSpan.FromSeconds(60));
            var register = await ChildProcess.RunAsync(executable, ["--config", server.ConfigPath, "register", "installed", server.Host, "installed-pass"],
                server.Directory, TimeSpan.FromSeconds(60));
            var check = await ChildProcess.RunAsync(executable, ["--config", server.ConfigPath, "check", "config"], server.Directory, TimeSpan.FromSeconds(60));

            Assert.Equal(["luaxmpp"], Directory.GetFiles(target).Select(Path.GetFileName));
            Assert.True(File.Exists(Path.Combine(target, "modules", "mod_smacks.lua")));
            Assert.True(about.ExitCode == 0 && about.Stdout.Contains("Lua: Lua 5.4"), about.ToString());
            Assert.True(register.ExitCode == 0, register.ToString());
            Assert.True(check.ExitCode == 0, check.ToString());
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no LuaXmpp.sln above {AppContext.BaseDirectory}");
    }
}
