using Dapper;
using LuaXmpp.Storage.Sql;

namespace LuaXmpp.Storage.Internal;

/// <summary>Whether a stored thing is a keyval table (also read as a map) or an archive.</summary>
internal enum StoredKind
{
    KeyValue,
    Archive,
}

/// <summary>One user's data in one store (User null: the host's own data).</summary>
internal sealed record StoredData(string Store, StoredKind Kind, string? User);

/// <summary>What a driver holds for a host, as prosody-migrator lists it before copying.</summary>
internal static class StorageInventory
{
    /// <exception cref="NotSupportedException">The driver cannot list its contents.</exception>
    public static Task<List<StoredData>> ListAsync(IStorageDriver driver, string host) => driver switch
    {
        FlatFileDatabase files => files.Writer.ReadAsync(() => ListFiles(files.Layout, host)),
        SqliteDatabase sqlite => sqlite.ReadAsync(StoreScope.Every, c =>
            Rows(c.Query<(string Store, string User)>(SelectKeyValue, new { host }), c.Query<(string Store, string User)>(SelectArchives, new { host }))),
        Postgres.PostgresDatabase postgres => postgres.ReadAsync(StoreScope.Every, async c =>
            Rows(await c.QueryAsync<(string Store, string User)>(SelectKeyValue, new { host }).ConfigureAwait(false),
                await c.QueryAsync<(string Store, string User)>(SelectArchives, new { host }).ConfigureAwait(false))),
        _ => throw new NotSupportedException($"storage driver \"{driver.Name}\" cannot be listed for migration"),
    };

    // Prosody's two tables, the same on every SQL database it supports.
    private const string SelectKeyValue = """SELECT DISTINCT "store","user" FROM "prosody" WHERE "host"=@host""";
    private const string SelectArchives = """SELECT DISTINCT "store","user" FROM "prosodyarchive" WHERE "host"=@host""";

    private static List<StoredData> Rows(IEnumerable<(string Store, string User)> keyValue, IEnumerable<(string Store, string User)> archives) =>
        keyValue.Select(r => new StoredData(r.Store, StoredKind.KeyValue, NullIfEmpty(r.User)))
            .Concat(archives.Select(r => new StoredData(r.Store, StoredKind.Archive, NullIfEmpty(r.User))))
            .ToList();

    private static string? NullIfEmpty(string user) => user.Length == 0 ? null : user;

    /// <summary>DATA/HOST/STORE/USER.dat|.list, and DATA/HOST/STORE.dat|.list for the host's own data.</summary>
    private static List<StoredData> ListFiles(DataPathLayout layout, string host)
    {
        var result = new List<StoredData>();
        var hostDir = layout.HostDirectory(host);
        if (!Directory.Exists(hostDir)) return result;
        foreach (var (ext, kind) in new[] { (DataPathLayout.KeyValueExtension, StoredKind.KeyValue), (DataPathLayout.ListExtension, StoredKind.Archive) })
        {
            foreach (var file in Directory.EnumerateFiles(hostDir, "*" + ext))
            {
                result.Add(new StoredData(DataPathLayout.Decode(Path.GetFileName(file)[..^ext.Length]), kind, null));
            }
            foreach (var store in layout.Stores(host))
            {
                result.AddRange(layout.Users(host, store, ext).Select(u => new StoredData(store, kind, u)));
            }
        }
        return result;
    }
}
