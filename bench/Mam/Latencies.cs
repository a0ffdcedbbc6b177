namespace LuaXmpp.Bench.Mam;

/// <summary>Collected durations in milliseconds, reported as percentiles.</summary>
internal sealed class Latencies
{
    private readonly List<double> _ms = new();

    public int Count => _ms.Count;

    public void Add(TimeSpan t)
    {
        lock (_ms) _ms.Add(t.TotalMilliseconds);
    }

    public double Percentile(double p)
    {
        lock (_ms)
        {
            if (_ms.Count == 0) return double.NaN;
            var sorted = _ms.Order().ToArray();
            int index = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
            return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
        }
    }

    public override string ToString() => $"p50 {Percentile(50):F2} ms, p99 {Percentile(99):F2} ms (n={Count})";
}
