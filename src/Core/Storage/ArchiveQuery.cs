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

    /// <summary>
    /// Counts at most this many items for the total; when more match, the total is left out
    /// (null). XEP-0059 §2.1 makes &lt;count/&gt; optional and allows an approximation: a search
    /// for a common word in a large archive otherwise spends its time counting, not paging.
    /// </summary>
    public long? TotalLimit { get; init; }

    /// <summary>The total to report for <paramref name="counted"/> items under <see cref="TotalLimit"/>.</summary>
    public long? Bounded(long counted) => TotalLimit is { } limit && counted > limit ? null : counted;

    /// <summary>Wraps a SELECT of matching rows into a COUNT that stops one past <see cref="TotalLimit"/>.</summary>
    public string BoundedCount(string selectRows) => TotalLimit is { } limit
        ? $"SELECT COUNT(*) FROM ({selectRows} LIMIT {Math.Max(limit, 0) + 1}) AS \"bounded\""
        : $"SELECT COUNT(*) FROM ({selectRows}) AS \"bounded\"";
}
