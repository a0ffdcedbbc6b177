namespace LuaXmpp.Storage.Internal;

/// <summary>How much one host's migration copied.</summary>
internal sealed record MigrationResult(int Tables, int Archives, long ArchiveItems);

/// <summary>
/// Copies everything a host has from one driver to another, as prosody-migrator does: each
/// keyval table whole (which carries map stores too), each archive item by item with its id,
/// time and peer kept. The destination's table or archive for that user and store is replaced,
/// so running it twice gives the same result. Run it with the server stopped.
/// </summary>
internal static class StorageMigrator
{
    private const int ArchivePage = 1000;

    public static async Task<MigrationResult> CopyAsync(IStorageDriver from, IStorageDriver to, string host)
    {
        int tables = 0, archives = 0;
        long items = 0;
        foreach (var data in await StorageInventory.ListAsync(from, host).ConfigureAwait(false))
        {
            if (data.Kind == StoredKind.KeyValue)
            {
                var table = await from.OpenKeyValue(host, data.Store).GetAsync(data.User).ConfigureAwait(false);
                await to.OpenKeyValue(host, data.Store).SetAsync(data.User, table).ConfigureAwait(false);
                tables++;
            }
            else
            {
                items += await CopyArchiveAsync(from.OpenArchive(host, data.Store), to.OpenArchive(host, data.Store), data.User).ConfigureAwait(false);
                archives++;
            }
        }
        return new MigrationResult(tables, archives, items);
    }

    private static async Task<long> CopyArchiveAsync(IArchiveStore from, IArchiveStore to, string? user)
    {
        await to.DeleteAsync(user, new ArchiveQuery()).ConfigureAwait(false);
        long copied = 0;
        string? after = null;
        while (true)
        {
            var page = await from.FindAsync(user, new ArchiveQuery { After = after, Limit = ArchivePage }).ConfigureAwait(false);
            if (page.Items.Count == 0) return copied;
            if (to is IArchiveBatchStore batch)
            {
                var appends = page.Items.Select(i => new ArchiveAppend(user ?? "", i.Key, i.Value, i.When, i.With ?? "")).ToList();
                await batch.AppendBatchAsync(appends, durable: true).ConfigureAwait(false);
            }
            else
            {
                foreach (var i in page.Items) await to.AppendAsync(user, i.Key, i.Value, i.When, i.With).ConfigureAwait(false);
            }
            copied += page.Items.Count;
            after = page.Items[^1].Key;
        }
    }
}
