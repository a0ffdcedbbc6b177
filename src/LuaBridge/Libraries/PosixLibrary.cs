using System.Runtime.InteropServices;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.pposix, reduced to what modules read without side effects: <c>uname()</c> (mod_version)
/// and <c>getpid()</c>. Daemon control (fork, setuid, syslog) is the host's business, not Lua's.
/// </summary>
internal sealed class PosixLibrary : INativeLibrary
{
    private static readonly LuaFunction UnameFn = Uname;
    private static readonly LuaFunction GetPidFn = GetPid;

    public string Name => "util.pposix";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("uname", UnameFn), new("getpid", GetPidFn)];

    public string Shim => """
        local raw = ...
        return { uname = raw.uname, getpid = raw.getpid, _NAME = "util.pposix", _VERSION = "LuaXmpp" }
        """;

    private static int Uname(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.CreateTable(0, 5);
        SetField(lua, "sysname", SystemName());
        SetField(lua, "nodename", Environment.MachineName);
        SetField(lua, "release", Environment.OSVersion.Version.ToString());
        SetField(lua, "version", RuntimeInformation.OSDescription);
        SetField(lua, "machine", MachineName(RuntimeInformation.OSArchitecture));
        return 1;
    });

    private static int GetPid(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushInteger(Environment.ProcessId);
        return 1;
    });

    private static string SystemName() =>
        OperatingSystem.IsLinux() ? "Linux"
        : OperatingSystem.IsMacOS() ? "Darwin"
        : OperatingSystem.IsFreeBSD() ? "FreeBSD"
        : OperatingSystem.IsWindows() ? "Windows_NT"
        : RuntimeInformation.OSDescription;

    // The names uname(2) reports for each architecture.
    private static string MachineName(Architecture arch) => arch switch
    {
        Architecture.X64 => "x86_64",
        Architecture.X86 => "i686",
        Architecture.Arm64 => "aarch64",
        Architecture.Arm => "armv7l",
        _ => arch.ToString().ToLowerInvariant(),
    };

    private static void SetField(Lua lua, string key, string value)
    {
        lua.PushString(value);
        lua.SetField(-2, key);
    }
}
