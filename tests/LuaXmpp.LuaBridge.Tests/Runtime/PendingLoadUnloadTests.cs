using LuaXmpp.Events;

namespace LuaXmpp.Tests.Runtime;

/// <summary>A module unloaded while its load waits ends up not loaded, and nothing it hooked stays.</summary>
[Collection("LuaRuntime")]
public sealed class PendingLoadUnloadTests
{
    // Hooks before and after a wait in its load; tells the test (through a C# hook) once the wait ended.
    private const string SlowModule = """
        local async = require "util.async"
        module:hook("slow-before", function() return "before" end)
        local wait, done = async.waiter()
        module:add_timer(0.2, function() done() end)
        wait()
        module:hook("slow-after", function() return "after" end)
        module:fire_event("slow-resumed", {})
        """;

    [Fact]
    public async Task UnloadWhileTheLoadWaits_LeavesTheModuleUnloaded_WithoutItsHooks()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("slow", SlowModule);
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await h.On(() => h.HostContext.Events.Hook("slow-resumed", _ =>
        {
            resumed.TrySetResult();
            return null;
        }));

        var loading = h.Load("slow");
        Assert.True(await h.On(() => h.Server.Modules.IsLoading(h.HostContext.Name, "slow")), "the load did not wait");
        Assert.True(await h.On(() => h.Server.Modules.Unload(h.HostContext, "slow")), "unloading a module that is loading did nothing");
        Assert.NotNull(await loading.WaitAsync(TimeSpan.FromSeconds(10)));

        // The load's wait ends later; what it set up goes then, and it does not count as loaded.
        await resumed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var (loaded, before, after, fired) = await h.On(() => (
            h.Server.Modules.IsLoaded(h.HostContext.Name, "slow"),
            h.HostContext.Events.HasHandlers("slow-before"),
            h.HostContext.Events.HasHandlers("slow-after"),
            h.HostContext.Events.Fire("slow-before", new EventData())));
        Assert.False(loaded, "the module counts as loaded after its pending load was unloaded");
        Assert.False(before, "a hook made before the wait is still active");
        Assert.False(after, "a hook made after the wait is active");
        Assert.Null(fired);

        // It loads again afterwards, as any unloaded module.
        Assert.Null(await h.Load("slow").WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await h.On(() => h.Server.Modules.IsLoaded(h.HostContext.Name, "slow")));
    }
}

/// <summary>The one chain whose caller uses its outcome and cannot wait: pre-resource-unbind (SessionManager.Destroy).</summary>
[Collection("LuaRuntime")]
public sealed class UnbindWaitTests
{
    [Fact]
    public async Task PreResourceUnbindHandlerThatWaits_DoesNotKeepTheSession_AndIsNamedOnce()
    {
        await using var h = RuntimeHarness.Create();
        h.WriteModule("slowunbind", """
            local async = require "util.async"
            module:hook("pre-resource-unbind", function(event)
              local wait, done = async.waiter()
              module:add_timer(0.05, function() done() end)
              wait()
              module:fire_event("slowunbind-resumed", {})
            end)
            """);
        Assert.Null(await h.Load("slowunbind"));
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await h.On(() => h.HostContext.Events.Hook("slowunbind-resumed", _ =>
        {
            resumed.TrySetResult();
            return null;
        }));
        var (session, _) = await h.BindAsync("carol");

        await h.On(() => h.Server.Sessions.Destroy(session, "test"));

        Assert.True(session.Destroyed, "a pre-resource-unbind handler that waits kept the session");
        Assert.Null(await h.On(() => h.Server.Sessions.GetFull("carol@localhost/res")));
        Assert.Contains(TestLog.Sink.Entries, l => l.Message.Contains("A pre-resource-unbind handler waited") && l.Message.Contains("mod_slowunbind on localhost"));
        // The rest of the chain still runs when the wait ends.
        await resumed.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
