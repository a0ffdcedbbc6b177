namespace LuaXmpp.Archive;

/// <summary>The filters an RSM count depends on (ids and paging bounds do not change the total).</summary>
public readonly record struct ArchiveCountFilter(string? With, long? Start, long? End)
{
    /// <summary>Whether an item with this peer and time is counted under the filter.</summary>
    public bool Matches(string with, long when) =>
        (With is null || With == with) && (Start is null || when >= Start) && (End is null || when <= End);
}
