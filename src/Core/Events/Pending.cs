using LuaXmpp.Logging;

namespace LuaXmpp.Events;

/// <summary>
/// Helpers for handlers that wait: a C# handler returns an unfinished <see cref="Task{TResult}"/>
/// of object? and the chain (and the router's pass after it) goes on when it completes.
/// </summary>
public static class Pending
{
    private static readonly Logger Log = Logger.For("events");

    /// <summary>A handler's task as a handler result: its result, or true (handled) if it failed — its failure is its own to report.</summary>
    public static object? ResultOf(Task<object?> task) => task.IsCompletedSuccessfully ? task.Result : true;

    /// <summary>Awaits without throwing (resumes on the caller's context, the loop).</summary>
    public static async Task Settle(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // Reported by whoever owns the task (ResultOf maps it to "handled").
        }
    }

    /// <summary>Lets a pass or chain that waits go on by itself; a failure is logged.</summary>
    public static void Forget(ValueTask pending)
    {
        if (pending.IsCompletedSuccessfully) return;
        _ = Observe(pending.AsTask());
    }

    /// <inheritdoc cref="Forget(ValueTask)"/>
    public static void Forget<T>(ValueTask<T> pending)
    {
        if (pending.IsCompletedSuccessfully) return;
        _ = Observe(pending.AsTask());
    }

    private static async Task Observe(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex)
        {
            Log.Error("A stanza's pass failed after a wait", ex);
        }
    }
}
