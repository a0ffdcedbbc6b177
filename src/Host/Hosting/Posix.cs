using System.Runtime.InteropServices;

namespace LuaXmpp.Host.Hosting;

/// <summary>The few libc calls the host needs: user switching and signalling another process.</summary>
internal static partial class Posix
{
    public const int SIGHUP = 1;
    public const int SIGTERM = 15;

    [LibraryImport("libc", SetLastError = true)]
    public static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setuid(uint uid);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setgid(uint gid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int initgroups(string user, uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getgrnam(string name);

    // struct passwd on 64-bit Linux: pw_name, pw_passwd (pointers), then pw_uid and pw_gid.
    public static (uint Uid, uint Gid)? User(string name)
    {
        var entry = getpwnam(name);
        if (entry == IntPtr.Zero) return null;
        return ((uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size), (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size + 4));
    }

    // struct group: gr_name, gr_passwd (pointers), then gr_gid.
    public static uint? Group(string name)
    {
        var entry = getgrnam(name);
        return entry == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
    }

    /// <summary>Whether a process with the id exists (kill with signal 0).</summary>
    public static bool Alive(int pid) => pid > 0 && (kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1 /* EPERM: exists */);

    public static string LastError() => Marshal.GetLastPInvokeErrorMessage();
}
