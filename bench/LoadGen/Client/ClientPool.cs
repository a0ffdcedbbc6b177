using System.Diagnostics;
using LuaXmpp.Bench.LoadGen.Measure;

namespace LuaXmpp.Bench.LoadGen.Client;

/// <summary>Logs many clients in with bounded concurrency, timing each from TCP connect to a
/// bound (and, if asked, stream-managed) session.</summary>
public sealed class ClientPool(Target target, int concurrency)
{
    public List<XmppClient> Bound { get; } = [];

    public Latencies TimeToBound { get; } = new();

    public int Errors { get; private set; }

    public string? FirstError { get; private set; }

    public async Task LoginAsync(IEnumerable<string> users, bool smacks, bool resume, CancellationToken cancel)
    {
        using var gate = new SemaphoreSlim(concurrency);
        var tasks = users.Select(async user =>
        {
            await gate.WaitAsync(cancel);
            var client = new XmppClient(target, user, target.Password);
            try
            {
                var start = Stopwatch.GetTimestamp();
                await client.LoginAsync(cancel);
                if (smacks) await client.EnableSmAsync(resume, cancel);
                TimeToBound.Add(Stopwatch.GetTimestamp() - start);
                lock (Bound) Bound.Add(client);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                lock (Bound)
                {
                    Errors++;
                    FirstError ??= e.GetType().Name + ": " + e.Message;
                }
                await client.DisposeAsync();
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(tasks);
    }

    public async Task CloseAllAsync()
    {
        await Task.WhenAll(Bound.Select(c => c.CloseAsync()));
        Bound.Clear();
    }
}
