using System.Diagnostics;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A logged-in bystander that pings the server (XEP-0199) every 20 ms in the background and
/// keeps each round trip: what other users would feel while an attack runs.
/// </summary>
public sealed class Pinger : IAsyncDisposable
{
    private readonly XmppSocketClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double> _rtts = [];
    private Task? _loop;

    private Pinger(XmppSocketClient client) => _client = client;

    public static Pinger Start(XmppSocketClient client)
    {
        var pinger = new Pinger(client);
        pinger._loop = Task.Run(pinger.LoopAsync);
        return pinger;
    }

    /// <summary>Round trips in ms so far, sorted; an unanswered ping (30 s) counts as infinite.</summary>
    public List<double> Sorted()
    {
        lock (_rtts) return [.. _rtts.Order()];
    }

    public double Max => Sorted().LastOrDefault();

    public int Count
    {
        get
        {
            lock (_rtts) return _rtts.Count;
        }
    }

    public string Summary()
    {
        var rtts = Sorted();
        double P(double q) => rtts.Count == 0 ? 0 : rtts[Math.Min(rtts.Count - 1, (int)(q * rtts.Count))];
        return $"{rtts.Count} pings: p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {rtts.LastOrDefault():F1} ms";
    }

    private async Task LoopAsync()
    {
        for (int i = 0; !_stop.IsCancellationRequested && i < 1_000_000; i++)
        {
            var clock = Stopwatch.StartNew();
            bool answered = await _client.PingAsync("localhost", "bystander-ping-" + i, TimeSpan.FromSeconds(30));
            lock (_rtts) _rtts.Add(answered ? clock.Elapsed.TotalMilliseconds : double.PositiveInfinity);
            try
            {
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Stops pinging (idempotent); the client is free for other use afterwards.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_loop is not { } loop) return;
        _loop = null;
        await _stop.CancelAsync();
        await loop;
        _stop.Dispose();
    }
}
