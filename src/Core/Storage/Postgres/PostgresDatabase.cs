using System.Threading.Channels;
using Dapper;
using LuaXmpp.Logging;
using LuaXmpp.Storage.Sql;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>
/// One PostgreSQL database in Prosody's mod_storage_sql layout, through Npgsql's pooled, async
/// connections (statements auto-prepared per connection). As with <see cref="SqliteDatabase"/>,
/// writes run one transaction at a time in the order they were issued, and a read first waits
/// for every write to its store issued before it (read-your-writes, as Prosody's synchronous
/// storage gives; <see cref="WriteFences"/>);
/// reads run beside each other on their own pooled connections. Nothing runs on the caller's
/// thread. When the server goes away, callers get <see cref="StorageFailure.Disconnected"/>,
/// the outage is logged once (and its end once), and the next operation reconnects.
/// </summary>
internal sealed class PostgresDatabase : IStorageDriver
{
    /// <summary>
    /// Prosody 0.12's tables and indexes on PostgreSQL (util/sql.lua: MEDIUMTEXT becomes TEXT,
    /// the auto-increment key BIGSERIAL), so a database either server created opens in the other.
    /// </summary>
    private static readonly string ProsodySchema = ProsodySql.ProsodySchema("BIGSERIAL PRIMARY KEY");

    private static readonly Logger Log = Logger.For("storage_sql");

    private readonly NpgsqlDataSource _source;
    private readonly Channel<Func<Task>> _writes = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly StorageHealth _writeHealth;
    private readonly StorageHealth _readHealth;
    private readonly object _gate = new();
    private readonly WriteFences _fences = new();
    private Task? _schema; // under _gate; null until created, or again after creating it failed
    private volatile bool _disposed;

    public PostgresDatabase(PostgresOptions options)
    {
        Options = options;
        _source = NpgsqlDataSource.Create(options.ConnectionString());
        _writeHealth = new StorageHealth(options.Describe(), "writes", Log);
        _readHealth = new StorageHealth(options.Describe(), "reads", Log);
        _writer = Task.Run(RunWriterAsync);
    }

    public string Name => "sql";

    public PostgresOptions Options { get; }

    public IKeyValueStore OpenKeyValue(string host, string store) => new PostgresKeyValueStore(this, host, store);

    public IMapStore OpenMap(string host, string store) => new PostgresMapStore(this, host, store);

    public IArchiveStore OpenArchive(string host, string store) => new PostgresArchiveStore(this, host, store);

    /// <summary>The full-text index beside the archive (PostgresFullText).</summary>
    internal PostgresFullTextIndex FullText { get; } = new();

    public Task PurgeUserAsync(string host, string user) => WriteAsync(StoreScope.Every, async (c, tx) =>
    {
        await c.ExecuteAsync(ProsodySql.DeleteUserRows, new { host, user }, tx).ConfigureAwait(false);
        await c.ExecuteAsync(PostgresFullText.DeleteRows("""SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user"""),
            new { host, user }, tx).ConfigureAwait(false);
        return true;
    });

    /// <summary>Indexes archive rows nobody indexed yet, one short write transaction at a time behind the queued writes.</summary>
    private void CatchUpFullText() => WriteAsync(StoreScope.FullTextCatchUp, (c, tx) => FullText.CatchUpAsync(c, tx)).ContinueWith(t =>
    {
        if (t.IsCompletedSuccessfully && t.Result) CatchUpFullText();
        else if (t.IsFaulted && !_disposed) Log.Error($"Full-text indexing stopped (resumed when the server next starts): {t.Exception!.GetBaseException().Message}");
    }, TaskScheduler.Default);

    /// <summary>Runs a read of <paramref name="scope"/> on a pooled connection once every write to it issued before it is done.</summary>
    public async Task<T> ReadAsync<T>(StoreScope scope, Func<NpgsqlConnection, Task<T>> work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var before = _fences.Before(scope);
        // Its failure is its caller's.
        if (!before.IsCompleted) await Task.WhenAny(before).ConfigureAwait(false);
        try
        {
            await EnsureSchemaAsync().ConfigureAwait(false);
            await using var conn = await _source.OpenConnectionAsync().ConfigureAwait(false);
            var result = await work(conn).ConfigureAwait(false);
            _readHealth.Succeeded();
            return result;
        }
        catch (Exception ex) when (PostgresErrors.IsDatabaseError(ex))
        {
            throw Failed(_readHealth, ex);
        }
    }

    /// <summary>
    /// Queues a write transaction after every write issued before it. <paramref name="durable"/>
    /// false lets the commit return before the server flushed its WAL (synchronous_commit off,
    /// for batched archive writes only); true waits for the flush, PostgreSQL's default.
    /// <paramref name="scope"/>: the store it writes, whose later reads wait for it.
    /// </summary>
    public Task<T> WriteAsync<T>(StoreScope scope, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, bool durable = true)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Run()
        {
            try
            {
                done.TrySetResult(await TransactionAsync(work, durable).ConfigureAwait(false));
                _writeHealth.Succeeded();
            }
            catch (Exception ex) when (PostgresErrors.IsDatabaseError(ex))
            {
                done.TrySetException(Failed(_writeHealth, ex));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }
        if (!_fences.TryIssue(scope, done.Task, () => _writes.Writer.TryWrite(Run))) done.SetException(new ObjectDisposedException(nameof(PostgresDatabase)));
        return done.Task;
    }

    private async Task<T> TransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, bool durable)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        await using var conn = await _source.OpenConnectionAsync().ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync().ConfigureAwait(false);
        if (!durable) await conn.ExecuteAsync("SET LOCAL synchronous_commit = off", null, tx).ConfigureAwait(false);
        var result = await work(conn, tx).ConfigureAwait(false);
        await tx.CommitAsync().ConfigureAwait(false);
        return result;
    }

    private async Task RunWriterAsync()
    {
        var reader = _writes.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var job)) await job().ConfigureAwait(false);
        }
    }

    /// <summary>Creates Prosody's tables and indexes once (IF NOT EXISTS); tried again after a failure.</summary>
    private Task EnsureSchemaAsync()
    {
        lock (_gate)
        {
            if (_schema is { IsFaulted: true } or { IsCanceled: true }) _schema = null;
            return _schema ??= CreateSchemaAsync();
        }
    }

    private async Task CreateSchemaAsync()
    {
        await using var conn = await _source.OpenConnectionAsync().ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync().ConfigureAwait(false);
        await conn.ExecuteAsync(ProsodySchema, null, tx).ConfigureAwait(false);
        await conn.ExecuteAsync(ProsodySql.LuaXmppIndexes, null, tx).ConfigureAwait(false);
        bool behind = await FullText.OpenedAsync(conn, tx).ConfigureAwait(false);
        await tx.CommitAsync().ConfigureAwait(false);
        if (behind) CatchUpFullText();
    }

    private StorageException Failed(StorageHealth health, Exception ex)
    {
        var failure = health.Failed(ex);
        // Pooled connections to a server that restarted are dead: drop them all, so the next
        // operation opens a fresh one instead of failing once per stale connection.
        if (failure.Failure == StorageFailure.Disconnected) _source.Clear();
        return failure;
    }

    /// <summary>Finishes every write already queued, then closes the pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_gate) _writes.Writer.TryComplete();
        // Called from the host's shutdown path, off the loop thread: the queued writes must land.
        _writer.GetAwaiter().GetResult();
        _source.Dispose();
    }
}
