using System.Runtime.InteropServices;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.pposix, reduced to what modules call: <c>uname()</c> (mod_version), <c>getpid()</c>,
/// <c>getuid()</c> and <c>umask(octal)</c> (mod_posix). Daemon control (fork, setuid, syslog) is
/// the host's business, not Lua's: <c>daemonize()</c> says so.
/// </summary>
internal sealed partial class PosixLibrary : INativeLibrary
{
    private static readonly LuaFunction UnameFn = Uname;
    private static readonly LuaFunction GetPidFn = GetPid;
    private static readonly LuaFunction GetUidFn = GetUid;
    private static readonly LuaFunction UmaskFn = Umask;

    public string Name => "util.pposix";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("uname", UnameFn), new("getpid", GetPidFn), new("getuid", GetUidFn), new("umask", UmaskFn)];

    public string Shim => """
        local raw = ...
        local function umask(mask)
          if type(mask) ~= "string" or not mask:match("^[0-7]+$") then
            error("bad argument #1 to 'umask' (octal string expected)", 2)
          end
          return raw.umask(tonumber(mask, 8))
        end
        return {
          uname = raw.uname, getpid = raw.getpid, getuid = raw.getuid, umask = umask,
          daemonize = function() return false, "LuaXmpp runs in the foreground; use your service manager" end,
          _NAME = "util.pposix", _VERSION = "LuaXmpp",
        }
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

    private static int GetUid(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushInteger(OperatingSystem.IsWindows() ? -1 : (long)NativeGetUid());
        return 1;
    });

    // umask(2): sets the mask and returns the previous one as an octal string, as pposix does.
    private static int Umask(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        if (OperatingSystem.IsWindows()) return NativeBoundary.Fail(lua, "umask needs POSIX");
        uint previous = NativeUmask((uint)(lua.ToInteger(1) & 0x1FF));
        lua.PushString(Convert.ToString(previous, 8).PadLeft(3, '0'));
        return 1;
    });

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint NativeGetUid();

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint NativeUmask(uint mask);

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
        NativeBoundary.PushUtf8(lua, value);
        lua.SetField(-2, key);
    }
}
