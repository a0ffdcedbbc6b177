using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>How one input ended.</summary>
internal enum FuzzOutcome
{
    /// <summary>Every complete unit became an event; the parser waits for more input.</summary>
    Handled,

    /// <summary>The parser refused the input with a stream error (<see cref="FuzzResult.Condition"/>).</summary>
    StreamError,

    /// <summary>A bug: another exception, no progress, unbounded buffering, split-dependent results, a failed round trip.</summary>
    Finding,
}

/// <param name="Events">Events produced before the input ended or was refused.</param>
internal sealed record FuzzResult(FuzzOutcome Outcome, StreamErrorCondition? Condition, string? Finding, int Events)
{
    public string Label => Outcome switch
    {
        FuzzOutcome.Handled => "handled",
        FuzzOutcome.StreamError => Condition!.Value.ToElementName(),
        _ => "FINDING",
    };
}
