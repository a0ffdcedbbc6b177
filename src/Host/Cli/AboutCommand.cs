using System.Runtime.InteropServices;
using LuaXmpp.Hosting;

namespace LuaXmpp.Host.Cli;

/// <summary>prosodyctl about: versions and paths, for bug reports.</summary>
public static class AboutCommand
{
    public static int Run(string configPath, TextWriter stdout)
    {
        stdout.WriteLine($"LuaXmpp {typeof(XmppServer).Assembly.GetName().Version?.ToString(3)}");
        stdout.WriteLine($"Runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");
        stdout.WriteLine($"Lua: {LuaVersion()}");
        stdout.WriteLine($"Config: {Path.GetFullPath(configPath)}{(File.Exists(configPath) ? "" : " (missing)")}");
        stdout.WriteLine($"Executable: {AppContext.BaseDirectory}");
        return ExitCodes.Ok;
    }

    private static string LuaVersion()
    {
        using var lua = new KeraLua.Lua();
        lua.GetGlobal("_VERSION");
        return lua.ToString(-1) ?? "unknown";
    }
}
