using System.Buffers;
using System.Text;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// The fuzzing engine, shared by the CI test (tests/LuaXmpp.Core.Tests/Fuzz) and the long-running tool
/// (tools/Fuzz). Each input is fed to a fresh parser twice — at once and in random pieces, each piece
/// arriving as a new segment after the unconsumed bytes as from a PipeReader — with a simulated c2s
/// session that restarts the stream after STARTTLS and SASL and raises the stanza limit after
/// authentication, as ClientConnection does. An input must end either handled (events, then "need more")
/// or with an <see cref="XmlStreamException"/>; both feedings must agree; every element must survive a
/// round trip through <see cref="XmlElementWriter"/>. Anything else is a finding.
/// </summary>
/// <remarks>Deterministic: input <c>i</c> of seed <c>s</c> is always the same bytes, split the same way.
/// Timing and allocation bounds are the tool's business, never a unit test's.</remarks>
internal sealed class StreamFuzzer
{
    public const int PreAuthStanzaLimit = 10_000;
    public const int PostAuthStanzaLimit = 256 * 1024;

    private static readonly XmlStreamLimits s_limits = new(MaxStanzaBytes: PreAuthStanzaLimit);

    // The writer may add "stream:" or "nsN:" prefixes and one xmlns:nsN per namespaced attribute, and
    // escaping grows text; the round-trip parser allows for that and nothing else.
    private static readonly XmlStreamLimits s_roundTripLimits = new(
        MaxStanzaBytes: 64 * 1024 * 1024, MaxDepth: s_limits.MaxDepth, MaxAttributes: s_limits.MaxAttributes * 2 + 1,
        MaxNameLength: s_limits.MaxNameLength + 16);

    private readonly int _seed;
    private readonly byte[][] _seeds;
    private readonly InputMutator _mutator;

    /// <summary>Reused across round trips (Reset between them), as a connection reuses its parser across restarts.</summary>
    private XmlStreamParser _roundTripParser = new(s_roundTripLimits);

    public StreamFuzzer(int seed, int maxInputBytes = 512 * 1024)
    {
        _seed = seed;
        _seeds = StreamSeeds.Transcripts.Select(Encoding.UTF8.GetBytes).ToArray();
        _mutator = new InputMutator(_seeds, maxInputBytes);
    }

    public IReadOnlyList<byte[]> Seeds => _seeds;

    /// <summary>The <paramref name="index"/>th input and the generator that splits it. Every 50th input is an unmutated seed.</summary>
    public byte[] MakeInput(long index, out Random rng)
    {
        // A stable mix of seed and index (HashCode is randomised per process, so it would not replay).
        rng = new Random(unchecked((int)((ulong)(_seed * 1_000_003L + index) * 0x9E3779B97F4A7C15UL >> 33)));
        var seed = _seeds[rng.Next(_seeds.Length)];
        return index % 50 == 0 ? seed : _mutator.Mutate(seed, rng);
    }

    /// <summary>
    /// A fresh generator for input <paramref name="index"/>, positioned after the input is made (to re-run
    /// it with the same split points).
    /// </summary>
    public Random Rng(long index)
    {
        MakeInput(index, out var rng);
        return rng;
    }

    public FuzzResult Run(byte[] input, Random rng)
    {
        var whole = Feed(input, [input.Length]);
        var pieces = Feed(input, RandomSplits(input.Length, rng));
        if (whole.Finding is not null) return whole.ToResult();
        if (pieces.Finding is not null) return pieces.ToResult();
        if (Disagreement(whole, pieces) is { } disagreement) return pieces.ToResult() with { Outcome = FuzzOutcome.Finding, Finding = disagreement };

        foreach (var (element, defaultNamespace) in whole.Elements())
        {
            string? diff;
            try
            {
                diff = RoundTrip(element, defaultNamespace);
            }
            catch (Exception ex)
            {
                _roundTripParser = new XmlStreamParser(s_roundTripLimits);
                diff = "round trip threw " + ex;
            }
            if (diff is null) continue;
            return whole.ToResult() with { Outcome = FuzzOutcome.Finding, Finding = "round trip: " + diff };
        }
        return whole.ToResult();
    }

    /// <summary>Piece ends: one piece, a few, many small ones, or (for short inputs) every byte alone.</summary>
    private static int[] RandomSplits(int length, Random rng)
    {
        if (length == 0) return [0];
        int pieces = rng.Next(5) switch
        {
            0 => 2,
            1 => 2 + rng.Next(8),
            2 => 2 + rng.Next(Math.Min(length, 200)),
            3 => length <= 4096 ? length : 2 + rng.Next(1000),
            _ => 1 + rng.Next(Math.Min(length, 40)),
        };
        var ends = new SortedSet<int> { length };
        for (int i = 1; i < pieces; i++) ends.Add(rng.Next(length + 1));
        return ends.ToArray();
    }

    /// <summary>The network loop and the session's reaction to events, over one feeding of the input.</summary>
    private static Feeding Feed(byte[] input, int[] pieceEnds)
    {
        var parser = new XmlStreamParser(s_limits);
        var feeding = new Feeding();
        var received = new FuzzSegment.Chain();
        bool authenticated = false;
        int start = 0;
        try
        {
            foreach (int end in pieceEnds)
            {
                received.Append(input.AsMemory(start, end - start));
                start = end;
                var buffer = received.Unconsumed;
                while (true)
                {
                    long before = buffer.Length;
                    if (!parser.TryRead(ref buffer, out var ev)) break;
                    if (ev is null) return feeding.Fail("TryRead returned true without an event");
                    if (buffer.Length >= before) return feeding.Fail($"{ev.GetType().Name} without consuming input");
                    feeding.Events.Add(ev);
                    authenticated = React(parser, ev, authenticated);
                }
                // "Need more input": whatever is kept is the unfinished unit, which the limit bounds (RFC 6120 §13.12).
                if (buffer.Length > parser.MaxStanzaBytes) return feeding.Fail($"{buffer.Length} bytes kept, limit {parser.MaxStanzaBytes}");
                received.ConsumeTo(buffer);
            }
            return feeding;
        }
        catch (XmlStreamException ex)
        {
            feeding.Condition = ex.Condition;
            return feeding;
        }
        catch (Exception ex)
        {
            return feeding.Fail(ex.ToString());
        }
    }

    /// <summary>What ClientConnection does: restart after STARTTLS and SASL success, raise the limit once authenticated.</summary>
    private static bool React(XmlStreamParser parser, StreamEvent ev, bool authenticated)
    {
        switch (ev)
        {
            case StreamElementEvent { Element: { Namespace: Namespaces.Tls, Name: "starttls" } }:
                parser.Reset();
                return authenticated;
            case StreamElementEvent { Element: { Namespace: Namespaces.Sasl } sasl }
                when sasl.Name == "response" || (sasl.Name == "auth" && !(sasl["mechanism"] ?? "").StartsWith("SCRAM", StringComparison.Ordinal)):
                parser.Reset();
                return true;
            case StreamHeaderEvent when authenticated:
                parser.MaxStanzaBytes = PostAuthStanzaLimit;
                return true;
            default:
                return authenticated;
        }
    }

    private static string? Disagreement(Feeding whole, Feeding pieces)
    {
        if (whole.Condition != pieces.Condition) return $"condition {whole.Condition} at once, {pieces.Condition} in pieces";
        if (whole.Events.Count != pieces.Events.Count) return $"{whole.Events.Count} events at once, {pieces.Events.Count} in pieces";
        for (int i = 0; i < whole.Events.Count; i++)
        {
            string? diff = (whole.Events[i], pieces.Events[i]) switch
            {
                (StreamHeaderEvent a, StreamHeaderEvent b) => a.DefaultNamespace != b.DefaultNamespace ? "default namespace" : TreeComparer.Diff(a.Header, b.Header),
                (StreamElementEvent a, StreamElementEvent b) => TreeComparer.Diff(a.Element, b.Element),
                (StreamEndEvent, StreamEndEvent) => null,
                var (a, b) => $"{a.GetType().Name} vs {b.GetType().Name}",
            };
            if (diff is not null) return $"event {i} differs between feedings: {diff}";
        }
        return null;
    }

    /// <summary>Writes the element as the server would inside a stream with that default namespace and parses it back.</summary>
    private string? RoundTrip(XmlElement element, string defaultNamespace)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(Encoding.UTF8.GetBytes(
            $"<stream:stream xmlns='{EscapeAttribute(defaultNamespace)}' xmlns:stream='{Namespaces.Streams}'>"));
        XmlElementWriter.Write(output, element, defaultNamespace);
        var parser = _roundTripParser;
        parser.Reset();
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        if (!parser.TryRead(ref buffer, out var header) || header is not StreamHeaderEvent) return "no header";
        if (!parser.TryRead(ref buffer, out var ev) || ev is not StreamElementEvent reparsed) return "the written element does not parse back";
        if (buffer.Length != 0) return "bytes left after the written element";
        return TreeComparer.Diff(element, reparsed.Element);
    }

    private static string EscapeAttribute(string value) => value
        .Replace("&", "&amp;").Replace("<", "&lt;").Replace("'", "&apos;")
        .Replace("\t", "&#9;").Replace("\n", "&#10;").Replace("\r", "&#13;");

    private sealed class Feeding
    {
        public List<StreamEvent> Events { get; } = new();

        public StreamErrorCondition? Condition { get; set; }

        public string? Finding { get; private set; }

        public Feeding Fail(string finding)
        {
            Finding = finding;
            return this;
        }

        /// <summary>Elements with the default namespace of the stream header they were read under.</summary>
        public IEnumerable<(XmlElement Element, string DefaultNamespace)> Elements()
        {
            string defaultNamespace = "";
            foreach (var ev in Events)
            {
                if (ev is StreamHeaderEvent h) defaultNamespace = h.DefaultNamespace;
                else if (ev is StreamElementEvent e) yield return (e.Element, defaultNamespace);
            }
        }

        public FuzzResult ToResult() => Finding is not null
            ? new FuzzResult(FuzzOutcome.Finding, Condition, Finding, Events.Count)
            : new FuzzResult(Condition is null ? FuzzOutcome.Handled : FuzzOutcome.StreamError, Condition, null, Events.Count);
    }
}
