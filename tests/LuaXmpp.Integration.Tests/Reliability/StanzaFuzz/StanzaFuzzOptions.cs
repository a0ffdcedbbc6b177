namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>What to run: inputs [Start, Start + Inputs) of <see cref="Seed"/>, or just <see cref="Only"/>.</summary>
public sealed record StanzaFuzzOptions(int Seed, long Start, long Inputs)
{
    public long? Only { get; init; }

    /// <summary>Inputs between whole-server checks (control ping, process alive, log scan, memory).</summary>
    public int BatchSize { get; init; } = 250;

    /// <summary>Inputs a session may have in flight (each followed by a ping) before the driver waits.</summary>
    public int Window { get; init; } = 16;

    /// <summary>How long an answer may take before it counts as a hang (generous: the machine is shared).</summary>
    public TimeSpan HangTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public int MaxFindings { get; init; } = 20;

    public double? MaxSeconds { get; init; }

    /// <summary>Resident memory of the server above which the run reports unbounded growth.</summary>
    public long MaxRssMib { get; init; } = 1536;

    /// <summary>Progress lines (the tool prints them; the test ignores them).</summary>
    public Action<string>? Progress { get; init; }

    public long First => Only ?? Start;

    public long Last => Only ?? Start + Inputs - 1;
}
