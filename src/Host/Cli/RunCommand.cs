using System.Runtime.InteropServices;
using LuaXmpp.Host.Hosting;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// Runs the server until SIGTERM or SIGINT, then shuts it down cleanly; SIGHUP reloads the
/// config, certificates, log files and modules (as logrotate and systemd's ExecReload expect).
/// </summary>
public static class RunCommand
{
    public static async Task<int> RunAsync(CommandContext context)
    {
        await using var host = new ServerHost(context.Config, context.ConfigDirectory);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStop(PosixSignalContext c)
        {
            c.Cancel = true;
            stop.TrySetResult();
        }
        void OnHangUp(PosixSignalContext c)
        {
            c.Cancel = true;
            _ = Task.Run(() => ReloadLoggingErrors(host));
        }
        // Registered before the start, so a stop asked for while starting is a clean stop after it.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangUp);
        var reason = "Server is shutting down";
        host.ShutdownRequested += why =>
        {
            reason = why;
            stop.TrySetResult();
        };
        try
        {
            await host.StartAsync();
        }
        catch (OperatorException e)
        {
            context.Stderr.WriteLine("Failed to start: " + e.Error.Message);
            return e.Error.ExitCode;
        }
        await stop.Task;
        await host.StopAsync(reason);
        return ExitCodes.Ok;
    }

    private static async Task ReloadLoggingErrors(ServerHost host)
    {
        try
        {
            await host.ReloadAsync();
        }
        catch (Exception e)
        {
            // A reload must never take the server down; the running config stays.
            Logger.For("server").Error("Reload failed", e);
        }
    }
}
