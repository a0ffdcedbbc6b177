namespace LuaXmpp.Storage;

/// <summary>
/// A query over one user's archive, with Prosody's archive API semantics: time bounds inclusive,
/// Before/After exclusive item ids, Limit items from the oldest end (or the newest with Reverse).
/// </summary>
public sealed record ArchiveQuery
{
    public string? With { get; init; }
    public long? Start { get; init; }
    public long? End { get; init; }
    public string? Before { get; init; }
    public string? After { get; init; }
    public IReadOnlyList<string>? Ids { get; init; }

    /// <summary>XEP-0431: only items whose message body holds every term.</summary>
    public FullTextQuery? FullText { get; init; }
    public int? Limit { get; init; }
    public bool Reverse { get; init; }
    public bool WantTotal { get; init; }
}
