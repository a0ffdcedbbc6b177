using System.Text;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>Counts outcomes over a run, per stream error condition.</summary>
internal sealed class FuzzTally
{
    private readonly SortedDictionary<string, long> _byLabel = new(StringComparer.Ordinal);

    public long Inputs { get; private set; }

    public long Bytes { get; private set; }

    public long Events { get; private set; }

    public long Findings { get; private set; }


    public IReadOnlyDictionary<string, long> ByLabel => _byLabel;

    public void Add(FuzzResult result, int inputLength)
    {
        Inputs++;
        Bytes += inputLength;
        Events += result.Events;
        if (result.Outcome == FuzzOutcome.Finding) Findings++;
        _byLabel[result.Label] = _byLabel.GetValueOrDefault(result.Label) + 1;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append($"inputs={Inputs} bytes={Bytes} events={Events} findings={Findings} outcomes:");
        foreach (var (label, count) in _byLabel) sb.Append($" {label}={count}");
        return sb.ToString();
    }
}
