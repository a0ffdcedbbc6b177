namespace LuaXmpp.Storage.Sql;

/// <summary>
/// The rows a read or write touches, so that a read waits only for the writes it could see
/// (<see cref="WriteFences"/>). Keyval and map stores of one name share rows of the "prosody"
/// table (mod_storage_sql's layout), so both have the same scope; an archive store's rows are in
/// "prosodyarchive". <see cref="Every"/>: every store (a user's purge, an inventory of the host).
/// </summary>
internal sealed record StoreScope(string Table, string Host, string Store)
{
    public static readonly StoreScope Every = new("", "", "");

    /// <summary>The full-text index's catch-up over old archive rows: no read waits for it, as
    /// the rows it indexes were readable before (a full-text query only finds them once it is done).</summary>
    public static readonly StoreScope FullTextCatchUp = new("luaxmpp_archive_fts", "", "");

    public static StoreScope KeyValue(string host, string store) => new("prosody", host, store);

    public static StoreScope Archive(string host, string store) => new("prosodyarchive", host, store);
}
