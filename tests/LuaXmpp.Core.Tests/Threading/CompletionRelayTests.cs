using System.Collections.Concurrent;
using LuaXmpp.Threading;

namespace LuaXmpp.Tests.Threading;

/// <summary>
/// The relay that completes a background writer's tasks: every posted action runs once, in the
/// order of each poster, on the relay's own thread; it sleeps between bursts (no spinning) and
/// must still see an action posted the moment it goes to sleep.
/// </summary>
public sealed class CompletionRelayTests
{
    [Fact]
    public async Task Post_FromManyThreads_RunsEveryActionOnce_InEachPostersOrder_OnTheRelayThread()
    {
        const int posters = 4, each = 5000;
        var seen = new ConcurrentDictionary<int, List<int>>();
        var threads = new ConcurrentBag<int>();
        // Declared before the relay, so the relay is disposed (and runs what is left) first.
        using var done = new CountdownEvent(posters * each);
        using var relay = new CompletionRelay("test-relay");
        var tasks = Enumerable.Range(0, posters).Select(p => Task.Run(() =>
        {
            for (int i = 0; i < each; i++)
            {
                int n = i;
                relay.Post(() =>
                {
                    seen.GetOrAdd(p, _ => []).Add(n);
                    threads.Add(Environment.CurrentManagedThreadId);
                    done.Signal();
                });
                // Bursts with gaps, so the relay goes to sleep and is woken many times.
                if (n % 97 == 0) Thread.Sleep(1);
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        Assert.True(done.Wait(TimeSpan.FromSeconds(10)), $"{done.CurrentCount} actions never ran");
        foreach (var list in seen.Values) Assert.Equal(Enumerable.Range(0, each), list);
        Assert.Single(threads.Distinct());
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, threads);
    }

    [Fact]
    public async Task Dispose_RunsWhatWasQueued_AndLaterPostsRunOnTheCaller()
    {
        var relay = new CompletionRelay("test-relay");
        var ran = new ConcurrentQueue<string>();
        using var gate = new ManualResetEventSlim();
        relay.Post(() => gate.Wait());
        relay.Post(() => ran.Enqueue("queued"));
        var disposing = Task.Run(relay.Dispose);
        gate.Set();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));

        int caller = Environment.CurrentManagedThreadId, on = -1;
        relay.Post(() => on = Environment.CurrentManagedThreadId);

        Assert.Equal(["queued"], ran);
        Assert.Equal(caller, on);
    }
}
