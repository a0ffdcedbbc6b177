using System.Runtime.InteropServices;
using LuaXmpp.Host.Hosting;

namespace LuaXmpp.Host.Cli;

/// <summary>Runs the server until SIGTERM or SIGINT, then shuts it down cleanly.</summary>
public static class RunCommand
{
    public static async Task<int> RunAsync(CommandContext context)
    {
        await using var host = new ServerHost(context.Config, context.ConfigDirectory);
        try
        {
            await host.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            context.Stderr.WriteLine("Failed to start: " + ex.Message);
            return ExitCodes.Failed;
        }
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext c)
        {
            c.Cancel = true;
            stop.TrySetResult();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        await stop.Task;
        await host.StopAsync("Server is shutting down");
        return ExitCodes.Ok;
    }
}
