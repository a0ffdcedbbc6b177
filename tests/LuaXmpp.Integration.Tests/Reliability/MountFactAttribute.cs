using System.Diagnostics;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A fact that mounts a tmpfs (<see cref="TmpfsMount"/>). Whether this machine lets the tests
/// mount is checked once, by mounting and unmounting a tiny tmpfs; where it cannot (not root,
/// no CAP_SYS_ADMIN, a restricted container), the test is reported as skipped with the reason
/// instead of failing. xunit 2 decides skips when it discovers tests, hence the check here.
/// </summary>
public sealed class MountFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>Why tests cannot mount here, or null when they can (probed once).</summary>
    internal static string? UnavailableReason => Unavailable.Value;

    public MountFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = "needs to mount a tmpfs, not permitted here: " + reason;
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        var path = Directory.CreateTempSubdirectory("luaxmpp-mount-probe-").FullName;
        try
        {
            var (code, error) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path);
            if (code != 0) return error;
            Run("umount", path);
            return null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return e.Message;
        }
        finally
        {
            Directory.Delete(path);
        }
    }

    private static (int Code, string Error) Run(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            process.Kill();
            return (-1, fileName + " timed out");
        }

        return (process.ExitCode, error.Trim());
    }
}

/// <summary>A theory that mounts a tmpfs: skipped, with the reason, where mounting is not permitted.</summary>
public sealed class MountTheoryAttribute : TheoryAttribute
{
    public MountTheoryAttribute()
    {
        if (MountFactAttribute.UnavailableReason is { } reason) Skip = "needs to mount a tmpfs, not permitted here: " + reason;
    }
}
