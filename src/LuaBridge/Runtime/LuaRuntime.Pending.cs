using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// Natives whose work finishes later (storage, routing passes that wait, C# handlers that return
// a Task) never wait on the loop: when the task is not complete they return (PENDING, id), and
// the Lua side (bridge.await) suspends its util.async runner until C# calls
// entry.complete(id, true, results...) — or (id, false, message) — from the loop once the task
// completed. Outside a runner Lua cannot suspend, and nothing on the loop waits for a task: what
// then happens is the caller's choice (bridge.await: a write goes on by itself, a read raises;
// bridge.await_handled: the pass goes on by itself).
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, PendingCall> _pendingCalls = new();
    private int _pendingMarker = LuaRef.NoRef;
    private int _complete = LuaRef.NoRef;
    private long _nextPendingId;

    /// <summary>A task Lua waits for, and how to push its results once it completed successfully.</summary>
    private sealed record PendingCall(Task Task, Func<Lua, int> Push);

    private void RegisterPendingNatives(NativeTable n)
    {
        n.Add("dispatch_done", DispatchDone);
        n.Add("pending_detach", PendingDetach);
        n.Add("load_done", LoadDone);
        n.Add("timer_done", TimerDone);
    }

    private void ResolvePendingRefs(Lua lua)
    {
        _pendingMarker = EntryRef(lua, "PENDING");
        _complete = EntryRef(lua, "complete");
        _runTimer = EntryRef(lua, "run_timer");
    }

    /// <summary>
    /// Pushes the results of <paramref name="task"/>: at once if it already completed, otherwise
    /// PENDING and an id, and entry.complete(id, ...) follows on the loop when it completes.
    /// </summary>
    private int PushWhenDone(Lua lua, Task task, Func<Lua, int> push)
    {
        if (task.IsCompleted) return PushOutcome(lua, task, push);
        long id = ++_nextPendingId;
        _pendingCalls[id] = new PendingCall(task, push);
        task.ContinueWith(_ => _server.Loop.Post(() => CompletePending(id)), TaskScheduler.Default);
        lua.PushRef(_pendingMarker);
        lua.PushInteger(id);
        return 2;
    }

    /// <summary>A completed task's results as a native returns them: its values, or nil and a message.</summary>
    private static int PushOutcome(Lua lua, Task task, Func<Lua, int> push)
    {
        if (task.IsCompletedSuccessfully) return push(lua);
        lua.PushNil();
        lua.PushString(FailureText(task));
        return 2;
    }

    private static string FailureText(Task task) =>
        task.Exception?.InnerException?.Message ?? (task.IsCanceled ? "cancelled" : "failed");

    private void CompletePending(long id)
    {
        if (_disposed || !_pendingCalls.Remove(id, out var call)) return;
        var scope = LuaStack.Enter(_main);
        var lua = scope.Lua;
        int top = scope.Top;
        try
        {
            lua.PushRef(_call);
            lua.PushRef(_complete);
            lua.PushInteger(id);
            int count;
            try
            {
                count = PushOutcome(lua, call.Task, call.Push);
            }
            catch (Exception ex)
            {
                lua.SetTop(top + 3);
                lua.PushNil();
                lua.PushString(ex.Message);
                count = 2;
            }
            if (scope.PCall(2 + count, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
                _log.Error("Resuming after a wait failed: " + lua.ToString(-1, false));
        }
        finally
        {
            scope.Dispose();
        }
    }

    // pending_detach(id), for bridge.await outside a runner, where nothing can suspend and the
    // loop never waits for a task: the task goes on by itself and its results are dropped. True
    // when it has no results but success (a storage write, a DBI commit): the caller is told
    // true now, and a failure is logged when the task ends. False for anything with results (a
    // read): the caller raises an error naming the call.
    private int PendingDetach(Lua lua)
    {
        long id = lua.ToInteger(1);
        if (!_pendingCalls.Remove(id, out var call))
        {
            lua.PushBoolean(false);
            return 1;
        }
        bool write = call.Push.Equals(new Func<Lua, int>(PushTrue));
        if (write)
        {
            var where = Traceback(lua);
            call.Task.ContinueWith(t => _log.Error($"A write made outside an async runner failed: {FailureText(t)}. {where}"),
                CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }
        lua.PushBoolean(write);
        return 1;
    }

    private static string Traceback(Lua lua)
    {
        lua.Traceback(lua, null, 1);
        var text = lua.ToString(-1, false);
        lua.Pop(1);
        return text ?? "";
    }
}
