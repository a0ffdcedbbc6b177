using LuaXmpp.Loop;

namespace LuaXmpp.Tests.Loop;

public sealed class ServerLoopTimerTests
{
    /// <summary>A clock whose timers fire only when the test says so, all at once.</summary>
    private sealed class BurstTime : TimeProvider
    {
        private readonly List<(TimerCallback Callback, object? State)> _timers = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (_timers) _timers.Add((callback, state));
            return new NoTimer();
        }

        public void FireAll()
        {
            List<(TimerCallback Callback, object? State)> due;
            lock (_timers) due = [.. _timers];
            foreach (var (callback, state) in due) callback(state);
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task DueTimers_InABurst_DoNotHoldBackWorkPostedAfterThem()
    {
        var time = new BurstTime();
        await using var loop = new ServerLoop(time);
        loop.Start();
        var order = new List<string>();
        for (int i = 0; i < 1_000; i++)
        {
            int n = i;
            loop.AddTimer(TimeSpan.FromSeconds(60), () => { order.Add("timer" + n); return null; });
        }
        using var gate = new ManualResetEventSlim();
        loop.Post(gate.Wait); // holds the loop until the burst and the work are both queued

        time.FireAll();
        var work = loop.InvokeAsync(() => order.Add("work"));
        gate.Set();
        await work;
        await loop.InvokeAsync(() => { }); // let the rest of the burst through
        while (await loop.InvokeAsync(() => order.Count) < 1_001) await Task.Yield();

        int at = order.IndexOf("work");
        Assert.InRange(at, 1, 256);
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => "timer" + i), order.Where(o => o != "work"));
    }

    [Fact]
    public async Task Timer_ReturningADelay_FiresAgain_AndDisposeStopsIt()
    {
        var time = new BurstTime();
        await using var loop = new ServerLoop(time);
        loop.Start();
        int fired = 0;
        var timer = loop.AddTimer(TimeSpan.FromSeconds(1), () => ++fired < 3 ? TimeSpan.FromSeconds(1) : null);

        time.FireAll();
        await loop.InvokeAsync(() => { });
        time.FireAll();
        await loop.InvokeAsync(() => { });
        timer.Dispose();
        time.FireAll();
        await loop.InvokeAsync(() => { });

        Assert.Equal(2, fired);
    }

    private sealed class TurnEndProbe(List<string> seen) : ServerLoop.ITurnEnd
    {
        public void OnTurnEnd()
        {
            lock (seen) seen.Add("turn end");
        }
    }

    [Fact]
    public async Task AtTurnEnd_RunsOnceTheWorkItemIsDone_BeforeTheNextOne()
    {
        await using var loop = new ServerLoop();
        loop.Start();
        var seen = new List<string>();
        var probe = new TurnEndProbe(seen);
        var second = new TaskCompletionSource();
        await loop.InvokeAsync(() =>
        {
            loop.Post(() =>
            {
                lock (seen) seen.Add("next item");
                second.SetResult();
            });
            loop.AtTurnEnd(probe);
            lock (seen) seen.Add("rest of the item");
        });
        await second.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["rest of the item", "turn end", "next item"], seen);
    }
}
