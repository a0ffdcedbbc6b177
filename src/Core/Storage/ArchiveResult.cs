namespace LuaXmpp.Storage;

/// <summary>Items in the order asked for, plus the total matching the filters when asked.</summary>
public sealed record ArchiveResult(IReadOnlyList<ArchiveItem> Items, long? Total)
{
    /// <summary>Set when Before/After named an id that is not in the archive.</summary>
    public bool UnknownId { get; init; }
}
