using System.Runtime.InteropServices;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// luaxmpp.process: <c>request_shutdown()</c> sends this process SIGTERM, so that
/// <c>prosody.shutdown()</c> from a module (mod_admin_adhoc's "Shut Down Service", invites, ...)
/// takes the same orderly path as an operator's SIGTERM: sessions closed, storage flushed.
/// </summary>
internal sealed partial class ProcessLibrary : INativeLibrary
{
    private const int SigTerm = 15;

    private static readonly LuaFunction RequestShutdownFn = RequestShutdown;

    public string Name => "luaxmpp.process";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("request_shutdown", RequestShutdownFn)];

    public string Shim => "local raw = ...; return { request_shutdown = raw.request_shutdown }";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static int RequestShutdown(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        if (OperatingSystem.IsWindows()) return NativeBoundary.Fail(lua, "shutdown from Lua needs POSIX signals");
        if (Kill(Environment.ProcessId, SigTerm) != 0) return NativeBoundary.Fail(lua, "kill failed: " + Marshal.GetLastPInvokeError());
        lua.PushBoolean(true);
        return 1;
    });
}
