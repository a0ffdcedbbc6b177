using System.Text;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>What a run did: inputs and outcomes, server memory, findings.</summary>
public sealed class StanzaFuzzReport
{
    private readonly Lock _gate = new();

    public long Inputs { get; set; }

    public List<StanzaFuzzFinding> Findings { get; } = [];

    /// <summary>Outcome per input ("handled", "stream-error:policy-violation", ...).</summary>
    public SortedDictionary<string, long> Outcomes { get; } = new(StringComparer.Ordinal);

    /// <summary>What the server answered (iq types, stanza error conditions), as coverage evidence.</summary>
    public SortedDictionary<string, long> Replies { get; } = new(StringComparer.Ordinal);

    public long Reconnects { get; set; }

    public long Resent { get; set; }

    public long RssStartKib { get; set; }

    public long RssPeakKib { get; set; }

    public long RssEndKib { get; set; }

    public TimeSpan Elapsed { get; set; }

    public void Count(string outcome) => Add(Outcomes, outcome);

    public void Reply(string reply) => Add(Replies, reply);

    private void Add(SortedDictionary<string, long> map, string key)
    {
        lock (_gate) map[key] = map.GetValueOrDefault(key) + 1;
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        double seconds = Math.Max(Elapsed.TotalSeconds, 0.001);
        text.AppendLine($"inputs={Inputs} seconds={seconds:F1} inputs/s={Inputs / seconds:F0} findings={Findings.Count} reconnects={Reconnects} resent={Resent}");
        text.AppendLine($"server RSS: start={RssStartKib / 1024} MiB peak={RssPeakKib / 1024} MiB end={RssEndKib / 1024} MiB");
        lock (_gate)
        {
            text.AppendLine("outcomes: " + string.Join(" ", Outcomes.Select(o => $"{o.Key}={o.Value}")));
            text.AppendLine("replies: " + string.Join(" ", Replies.Select(o => $"{o.Key}={o.Value}")));
        }
        return text.ToString();
    }
}
