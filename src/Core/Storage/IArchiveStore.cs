using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>Prosody's "archive" store kind (mod_mam, offline messages in 0.12).</summary>
public interface IArchiveStore
{
    /// <summary>Appends an item; key null: generate one. Returns the item's id.</summary>
    Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with);

    Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query);

    /// <summary>Deletes matching items (Limit/Ids/time bounds honoured); returns how many.</summary>
    Task<long> DeleteAsync(string? user, ArchiveQuery query);

    /// <summary>Items older than the cut-off, for all users: expiry. Deletes at most <paramref name="batch"/> rows per call.</summary>
    Task<long> DeleteOlderThanAsync(long cutoff, int batch);
}
