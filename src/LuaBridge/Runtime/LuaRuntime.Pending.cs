using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// Natives whose work finishes later (storage, routing passes that wait, C# handlers that return
// a Task) never wait on the loop: when the task is not complete they return (PENDING, id), and
// the Lua side (bridge.await) suspends its util.async runner until C# calls
// entry.complete(id, true, results...) — or (id, false, message) — from the loop once the task
// completed. Outside a runner Lua cannot suspend; what then happens is the caller's choice (see
// bridge.await and bridge.await_handled).
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, PendingCall> _pendingCalls = new();
    private int _pendingMarker = LuaRef.NoRef;
    private int _complete = LuaRef.NoRef;
    private long _nextPendingId;
    private bool _warnedBlocking;

    /// <summary>A task Lua waits for, and how to push its results once it completed successfully.</summary>
    private sealed record PendingCall(Task Task, Func<Lua, int> Push, bool MayBlock);

    private void RegisterPendingNatives(NativeTable n)
    {
        n.Add("dispatch_done", DispatchDone);
        n.Add("pending_block", PendingBlock);
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
    /// <paramref name="mayBlock"/>: the task never needs the loop to complete (storage drivers),
    /// so a caller outside a runner may fall back to waiting for it (pending_block).
    /// </summary>
    private int PushWhenDone(Lua lua, Task task, Func<Lua, int> push, bool mayBlock = false)
    {
        if (task.IsCompleted) return PushOutcome(lua, task, push);
        long id = ++_nextPendingId;
        _pendingCalls[id] = new PendingCall(task, push, mayBlock);
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

    // pending_block(id): outside a runner nothing can suspend; a storage task (which never needs
    // the loop to complete) is then waited for here, blocking the loop — logged once, because it
    // is a module calling storage from where Prosody would not let it wait either.
    // pending_block(id, true), for the module loader (bridge.load_module), which finishes a load
    // before it goes on as Prosody's does: true and the task's results, or false when the task
    // needs the loop; not logged, since Prosody's module loads read storage without waiting too.
    private int PendingBlock(Lua lua)
    {
        long id = lua.ToInteger(1);
        bool forLoad = lua.ToBoolean(2);
        if (!_pendingCalls.TryGetValue(id, out var call) || !call.MayBlock)
        {
            if (forLoad)
            {
                lua.PushBoolean(false);
                return 1;
            }
            lua.PushNil();
            lua.PushString("cannot wait outside an async runner");
            return 2;
        }
        _pendingCalls.Remove(id);
        if (!_warnedBlocking && !forLoad)
        {
            _warnedBlocking = true;
            _log.Warn("Storage was called outside an async runner (a session filter or a C# callback); the loop waited for it. "
                + "Run such work in a runner (util.async) so it can suspend instead. " + Traceback(lua));
        }
        try
        {
            call.Task.Wait();
        }
        catch (AggregateException)
        {
            // reported below as nil, message
        }
        if (!forLoad) return PushOutcome(lua, call.Task, call.Push);
        lua.PushBoolean(true);
        return 1 + PushOutcome(lua, call.Task, call.Push);
    }

    private static string Traceback(Lua lua)
    {
        lua.Traceback(lua, null, 1);
        var text = lua.ToString(-1, false);
        lua.Pop(1);
        return text ?? "";
    }
}
