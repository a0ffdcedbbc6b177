namespace LuaXmpp.Metrics;

/// <summary>
/// Counts observations into fixed buckets for an OpenMetrics histogram, read at collect time.
/// Observing is one bucket search and two interlocked adds (no lock, no allocation), so any
/// thread may observe; meant for events far rarer than stanzas (archive commits).
/// </summary>
public sealed class Histogram(params double[] bounds)
{
    private readonly double[] _bounds = [.. bounds.Order()];
    private readonly long[] _counts = new long[bounds.Length + 1]; // the last: above every bound (+Inf)
    private long _sumMicros;

    /// <summary>The upper bounds of the buckets, ascending, without +Inf.</summary>
    public IReadOnlyList<double> Bounds => _bounds;

    public void Observe(double value)
    {
        int i = Array.BinarySearch(_bounds, value);
        Interlocked.Increment(ref _counts[i < 0 ? ~i : i]);
        Interlocked.Add(ref _sumMicros, (long)(value * 1e6));
    }

    /// <summary>Cumulative counts per bound (OpenMetrics §4.1.2.5: le="bound" counts every value ≤ it), then the total count, and the sum.</summary>
    public HistogramSnapshot Snapshot()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (int i = 0; i < _counts.Length; i++) cumulative[i] = running += Interlocked.Read(ref _counts[i]);
        return new HistogramSnapshot(_bounds, cumulative, Interlocked.Read(ref _sumMicros) / 1e6);
    }
}

/// <summary>A histogram's state: <see cref="Cumulative"/> has one entry per bound and a last one for +Inf (the count).</summary>
public sealed record HistogramSnapshot(IReadOnlyList<double> Bounds, long[] Cumulative, double Sum)
{
    public long Count => Cumulative[^1];

    /// <summary>Two histograms with the same bounds added up (the archives of several hosts).</summary>
    public HistogramSnapshot Plus(HistogramSnapshot other)
    {
        var sum = new long[Cumulative.Length];
        for (int i = 0; i < sum.Length; i++) sum[i] = Cumulative[i] + other.Cumulative[i];
        return this with { Cumulative = sum, Sum = Sum + other.Sum };
    }
}
