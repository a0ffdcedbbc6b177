using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using LuaXmpp.LuaBridge.Runtime;
using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Sessions.StreamManagement;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// First-use costs taken at startup, on a background thread, instead of inside a client's
/// request. Measured with bench/compare --deployment (docs/PERFORMANCE.md, "What the resume tail
/// was"): the process's first XEP-0198 resume compiled ~25 methods on its way to &lt;resumed/&gt;
/// and the re-send (1.5-4 ms, the slowest resume of the run), and the first connections reset at
/// once (the clients that then resume) each captured a stack trace with file and line numbers
/// (the socket layer's async exceptions do), whose first use loads the PDB readers: tens of ms of
/// CPU on the 2 cores the first resumes run on. Prewarming compiles the resume path (tier 0, as a
/// first call would) and captures one such stack trace; it is a few ms of CPU once.
/// </summary>
public static class Prewarm
{
    /// <summary>Starts the prewarm on a low-priority background thread; returns at once.</summary>
    public static void Start(Action<string> debug)
    {
        var thread = new Thread(() => Run(debug)) { IsBackground = true, Name = "prewarm", Priority = ThreadPriority.BelowNormal };
        thread.Start();
    }

    private static void Run(Action<string> debug)
    {
        // ThreadPriority.BelowNormal does nothing on Linux; this does (a nice value for this thread).
        LuaXmpp.Threading.BackgroundPriority.LowerCurrentThread();
        int prepared = 0;
        // The XEP-0198 resume and re-send (StreamManagementController.Resume, Resync, ReplayNext,
        // their closures and the queue), the natives mod_smacks calls, and what they touch on the
        // session and the connection.
        foreach (var type in new[] { typeof(StreamManagementController), typeof(StreamManagementState), typeof(ClientSession), typeof(ClientConnection) })
        {
            prepared += PrepareType(type, _ => true);
        }
        prepared += PrepareType(typeof(LuaRuntime), IsSmacksNative);
        CaptureOneStackTrace();
        debug($"Prewarm: {prepared} methods compiled, stack trace symbols loaded");
    }

    // LuaRuntime's smacks natives (sm_*), their closures and what they call on the way.
    private static bool IsSmacksNative(MethodBase m) =>
        m.Name.StartsWith("Sm", StringComparison.Ordinal) || m.Name.Contains("<Sm", StringComparison.Ordinal)
        || m.Name is "ParseH" or "StopTimer" || m.DeclaringType?.Name == "LuaTimer";

    // The type's own methods and those of its nested types (closures, async state machines),
    // except generic ones, which have no single body to compile.
    private static int PrepareType(Type type, Func<MethodBase, bool> wanted)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        int prepared = 0;
        if (type.ContainsGenericParameters) return 0;
        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            if (method.IsAbstract || method.ContainsGenericParameters || !wanted(method)) continue;
            if ((method.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0) continue;
            if ((method.Attributes & MethodAttributes.PinvokeImpl) != 0) continue;
            try
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
                prepared++;
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or BadImageFormatException or TypeLoadException)
            {
                // Nothing to gain from a method the runtime cannot prepare ahead.
            }
        }
        foreach (var nested in type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
        {
            prepared += PrepareType(nested, wanted);
        }
        return prepared;
    }

    // What the socket layer does for every failed async send or receive (a client gone): the
    // exception gets the current stack trace with file and line numbers.
    private static void CaptureOneStackTrace() => _ = ExceptionDispatchInfo.SetCurrentStackTrace(new IOException("prewarm")).StackTrace;
}
