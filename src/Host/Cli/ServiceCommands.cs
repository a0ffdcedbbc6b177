using LuaXmpp.Host.Hosting;

namespace LuaXmpp.Host.Cli;

/// <summary>prosodyctl status | reload | stop, through the pidfile of the running server.</summary>
public static class ServiceCommands
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public static Task<int> StatusAsync(CommandContext context, string[] args)
    {
        if (args.Length != 0) return Task.FromResult(CommandLine.UsageError(context.Stderr, "usage: luaxmpp status"));
        var (pid, pidFile) = Running(context);
        if (pid is null)
        {
            context.Stdout.WriteLine($"LuaXmpp is not running (no live PID in {pidFile})");
            return Task.FromResult(ExitCodes.Failed);
        }
        context.Stdout.WriteLine($"LuaXmpp is running with PID {pid}");
        return Task.FromResult(ExitCodes.Ok);
    }

    public static Task<int> ReloadAsync(CommandContext context, string[] args)
    {
        if (args.Length != 0) return Task.FromResult(CommandLine.UsageError(context.Stderr, "usage: luaxmpp reload"));
        var (pid, pidFile) = Running(context);
        if (pid is null) return Task.FromResult(NotRunning(context, pidFile));
        if (Posix.kill(pid.Value, Posix.SIGHUP) != 0)
        {
            context.Stderr.WriteLine($"Error: cannot signal PID {pid}: {Posix.LastError()}");
            return Task.FromResult(ExitCodes.Failed);
        }
        context.Stdout.WriteLine($"Asked LuaXmpp (PID {pid}) to reload its config");
        return Task.FromResult(ExitCodes.Ok);
    }

    public static async Task<int> StopAsync(CommandContext context, string[] args)
    {
        if (args.Length != 0) return CommandLine.UsageError(context.Stderr, "usage: luaxmpp stop");
        var (pid, pidFile) = Running(context);
        if (pid is null) return NotRunning(context, pidFile);
        if (Posix.kill(pid.Value, Posix.SIGTERM) != 0)
        {
            context.Stderr.WriteLine($"Error: cannot signal PID {pid}: {Posix.LastError()}");
            return ExitCodes.Failed;
        }
        var deadline = DateTime.UtcNow + StopTimeout;
        while (Posix.Alive(pid.Value) && DateTime.UtcNow < deadline) await Task.Delay(100);
        if (Posix.Alive(pid.Value))
        {
            context.Stderr.WriteLine($"Error: LuaXmpp (PID {pid}) did not stop within {StopTimeout.TotalSeconds} s");
            return ExitCodes.Failed;
        }
        context.Stdout.WriteLine($"LuaXmpp (PID {pid}) stopped");
        return ExitCodes.Ok;
    }

    private static (int? Pid, string PidFile) Running(CommandContext context)
    {
        var pidFile = PidFile.PathFor(context.Config, ServerPaths.From(context.Config, context.ConfigDirectory));
        return (PidFile.ReadLive(pidFile), pidFile);
    }

    private static int NotRunning(CommandContext context, string pidFile)
    {
        context.Stderr.WriteLine($"Error: LuaXmpp is not running (no live PID in {pidFile})");
        return ExitCodes.Failed;
    }
}
