using System.Diagnostics;

namespace LuaXmpp.Bench.LoadGen.Measure;

/// <summary>Latency samples in Stopwatch ticks; thread-safe adds, exact percentiles (nearest rank).</summary>
public sealed class Latencies
{
    private readonly List<long> _ticks = [];

    public int Count
    {
        get
        {
            lock (_ticks) return _ticks.Count;
        }
    }

    public void Add(long ticks)
    {
        lock (_ticks) _ticks.Add(ticks);
    }

    public void AddRange(IEnumerable<long> ticks)
    {
        lock (_ticks) _ticks.AddRange(ticks);
    }

    /// <summary>The p-th percentile in milliseconds; NaN without samples.</summary>
    public double PercentileMs(double p)
    {
        long[] sorted;
        lock (_ticks) sorted = [.. _ticks];
        if (sorted.Length == 0) return double.NaN;
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}
