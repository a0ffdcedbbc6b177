namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A fact that needs root (to start the server as another user, or to see file modes enforced
/// on an unprivileged one). Reported as skipped, with the reason, when the tests do not run as root.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux (setpriv)";
        else if (!Environment.IsPrivilegedProcess) Skip = "needs root to start the server as an unprivileged user";
    }
}
