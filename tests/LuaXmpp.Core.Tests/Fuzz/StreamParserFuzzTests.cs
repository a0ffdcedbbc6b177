using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// The fuzzer's engine at CI size: a fixed seed, so every run checks the same inputs (the long runs are
/// tools/Fuzz). A failure prints the input in base64; replay it with
/// <c>dotnet run --project tools/Fuzz -c Release -- --seed 20240601 --max-input-bytes 65536 --only INDEX</c>.
/// </summary>
public sealed class StreamParserFuzzTests
{
    private const int Seed = 20240601;
    private const int Inputs = 20_000;

    // Inputs up to 64 KiB keep the run to seconds; the tool's long runs go to 512 KiB (past the 256 KiB limit).
    private const int MaxInputBytes = 64 * 1024;

    [Fact]
    public void Seeds_AreHandledCleanly_AndSurviveRoundTrip()
    {
        var fuzzer = new StreamFuzzer(Seed);

        foreach (var seed in fuzzer.Seeds)
        {
            var result = fuzzer.Run(seed, new Random(1));
            Assert.True(result.Outcome == FuzzOutcome.Handled, $"{result.Label} {result.Finding}: {System.Text.Encoding.UTF8.GetString(seed)}");
            Assert.True(result.Events > 2);
        }
    }

    [Fact]
    public void Fuzzer_FindsNothing_OverFixedSeedInputs()
    {
        var fuzzer = new StreamFuzzer(Seed, MaxInputBytes);
        var tally = new FuzzTally();
        var findings = new List<string>();

        for (int i = 0; i < Inputs; i++)
        {
            byte[] input = fuzzer.MakeInput(i, out var rng);
            var result = fuzzer.Run(input, rng);
            tally.Add(result, input.Length);
            if (result.Outcome == FuzzOutcome.Finding && findings.Count < 3)
            {
                findings.Add($"input {i} ({input.Length} bytes): {result.Finding}\n{Convert.ToBase64String(input.Length > 4096 ? input[..4096] : input)}");
            }
        }

        Assert.True(findings.Count == 0, string.Join("\n\n", findings) + "\n" + tally);
        // The mix must stay broad, or the mutator has stopped reaching the parser's corners.
        Assert.True(tally.ByLabel.GetValueOrDefault("handled") > Inputs / 50, tally.ToString());
        foreach (var condition in new[] { StreamErrorCondition.NotWellFormed, StreamErrorCondition.RestrictedXml,
                     StreamErrorCondition.PolicyViolation, StreamErrorCondition.BadNamespacePrefix })
        {
            Assert.True(tally.ByLabel.GetValueOrDefault(condition.ToElementName()) > 0, $"no {condition}: {tally}");
        }
    }
}
