using System.Collections.Concurrent;
using System.Threading.Channels;
using Dapper;
using LuaXmpp.Logging;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// One SQLite file in Prosody's mod_storage_sql layout. Writes go through a single connection on
/// one writer thread, in the order they were issued (SQLite allows one writer); reads use their
/// own connections on the thread pool, which WAL lets run beside the writer; a read waits only for
/// the writes issued before it to its own store (<see cref="WriteFences"/>). No database work
/// runs on the caller's thread. Failures (disk full, read-only file, lock) are logged once per
/// burst, and storage recovers by itself: the connection that failed is reopened on next use.
/// </summary>
internal sealed class SqliteDatabase : IStorageDriver
{
    /// <summary>Prosody 0.12's tables and indexes on SQLite.</summary>
    private static readonly string ProsodySchema = ProsodySql.ProsodySchema("INTEGER PRIMARY KEY AUTOINCREMENT");

    private const int BusyTimeoutMs = 5000;

    /// <summary>
    /// The writer's checkpoint interval. An archive insert touches a leaf of each of
    /// "prosodyarchive"'s six indexes per user written to, and the full-text index; a checkpoint
    /// every 10 000 pages (a WAL of up to ~40 MiB on disk, reused) copies a page written by many
    /// batches once instead of every 1 000 pages. A larger page cache (32 MiB, then 8) made the
    /// writer cheaper per row but stayed resident after a flood of offline messages had passed
    /// through (SlowReaderTests.NeverAcking: +53 to +77 MiB against its 48 MiB bound with 32 MiB,
    /// +27 to +44 with 8, +29 to +37 with SQLite's default 2 MiB), so the writer keeps the default.
    /// docs/PERFORMANCE.md has the measurements.
    /// </summary>
    private const string WriterTuning = "PRAGMA wal_autocheckpoint=10000;";

    private static readonly Logger Log = Logger.For("storage_sql");

    private readonly string _connectionString;
    private readonly bool _inMemory;
    private readonly Channel<WriteJob> _writes = Channel.CreateUnbounded<WriteJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _writerThread;
    private readonly LuaXmpp.Threading.CompletionRelay _completions = new("luaxmpp-sql-done");
    private readonly ConcurrentBag<SqliteConnection> _readers = new();
    private readonly StorageHealth _writeHealth;
    private readonly StorageHealth _readHealth;
    private readonly WriteFences _fences = new();
    private SqliteConnection? _writer; // only the writer thread touches it
    private volatile bool _schemaReady;
    private volatile bool _disposed;

    static SqliteDatabase() => SQLitePCL.Batteries_V2.Init();

    /// <param name="path">The database file, or ":memory:" for a private in-memory database.</param>
    public SqliteDatabase(string path)
    {
        Path = path;
        _inMemory = path == ":memory:";
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = _inMemory ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            // Unpooled, so that Dispose really closes the file (another process, e.g. Prosody, may open it next).
            Pooling = false,
            // Microsoft.Data.Sqlite retries a busy statement until its command timeout (30 s by
            // default) on top of busy_timeout; with the writes serialized behind one gate, a locked
            // file would stall every queued write for 30 s each. Give up with busy_timeout instead.
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
        _writeHealth = new StorageHealth(path, "writes", Log);
        _readHealth = new StorageHealth(path, "reads", Log);
        _writerThread = new Thread(RunWriter) { Name = "luaxmpp-sqlite-writer", IsBackground = true };
        _writerThread.Start();
    }

    public string Name => "sql";

    public string Path { get; }

    public IKeyValueStore OpenKeyValue(string host, string store) => new SqliteKeyValueStore(this, host, store);

    public IMapStore OpenMap(string host, string store) => new SqliteMapStore(this, host, store);

    public IArchiveStore OpenArchive(string host, string store) => new SqliteArchiveStore(this, host, store);

    /// <summary>The full-text index beside the archive (writer thread only).</summary>
    internal SqliteFullTextIndex FullText { get; } = new();

    public Task PurgeUserAsync(string host, string user) => WriteAsync(StoreScope.Every, (c, tx) =>
    {
        var p = new { host, user };
        c.Execute(ProsodySql.DeleteUserRows, p, tx);
        SqliteFullText.DeleteRows(c, tx, """SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user""", p);
        return true;
    });

    /// <summary>
    /// Indexes archive rows nobody indexed yet, one short write transaction at a time, each queued
    /// behind the writes already waiting, so a large archive never holds the writer for long.
    /// </summary>
    private void CatchUpFullText() => WriteAsync(StoreScope.FullTextCatchUp, (c, tx) => FullText.CatchUp(c, tx)).ContinueWith(t =>
    {
        if (t.IsCompletedSuccessfully && t.Result) CatchUpFullText();
        else if (t.IsFaulted && !_disposed) Log.Error($"Full-text indexing of {Path} stopped (resumed when the file is next opened): {t.Exception!.GetBaseException().Message}");
    }, TaskScheduler.Default);

    /// <summary>
    /// Runs a read of <paramref name="scope"/> on a pool thread with a reader connection (the
    /// writer's, for an in-memory database). The read sees every write to its store issued before
    /// it, as with Prosody's synchronous storage: modules written for it set then get, and offline
    /// messages queued just before a user comes online must be in the delivery that follows.
    /// </summary>
    public async Task<T> ReadAsync<T>(StoreScope scope, Func<SqliteConnection, T> work)
    {
        if (_inMemory) return await WriteAsync(scope, (c, _) => work(c)).ConfigureAwait(false);
        var before = _fences.Before(scope);
        // Its failure is its caller's.
        if (!before.IsCompleted) await Task.WhenAny(before).ConfigureAwait(false);
        // The writer creates the schema; the first reads wait for it (an empty write opens it).
        if (!_schemaReady) await WriteAsync(StoreScope.Every, (_, _) => true).ConfigureAwait(false);
        return await Task.Run(() => Read(work)).ConfigureAwait(false);
    }

    private T Read<T>(Func<SqliteConnection, T> work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SqliteConnection? conn = null;
        try
        {
            if (!_readers.TryTake(out conn)) conn = Open();
            var result = work(conn);
            _readHealth.Succeeded();
            return result;
        }
        catch (SqliteException ex)
        {
            // A connection that saw an I/O error is not reused: the next read opens a fresh one.
            if (SqliteErrors.Classify(ex) != StorageFailure.Busy) conn = Discard(conn);
            throw _readHealth.Failed(ex);
        }
        finally
        {
            if (conn is not null)
            {
                if (_disposed) conn.Dispose();
                else _readers.Add(conn);
            }
        }
    }

    /// <summary>Runs a write transaction of <paramref name="scope"/> on the writer thread, after every write issued before it.</summary>
    public Task<T> WriteAsync<T>(StoreScope scope, Func<SqliteConnection, SqliteTransaction, T> work) => WriteAsync(scope, work, durable: false);

    /// <summary>
    /// Queues a write transaction. Writes run one at a time on the writer thread, in exactly the
    /// order they were issued: a caller that issues A then B (e.g. two offline messages for one
    /// user) finds them committed in that order. <paramref name="durable"/>: this commit is synced
    /// to disk (synchronous=FULL: in WAL mode the WAL is fsynced at commit), where NORMAL only
    /// survives a process crash. SQLite allows the switch only outside a transaction.
    /// <paramref name="scope"/>: the store it writes, whose later reads wait for it.
    /// </summary>
    public Task<T> WriteAsync<T>(StoreScope scope, Func<SqliteConnection, SqliteTransaction, T> work, bool durable)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Completed through the relay: the writer runs at a low priority (RunWriter), and a pool
        // thread created from it would inherit that.
        var job = new WriteJob(
            conn =>
            {
                var result = Transaction(conn, work, durable);
                _completions.Post(() => done.SetResult(result));
            },
            ex => _completions.Post(() => done.SetException(ex)));
        if (!_fences.TryIssue(scope, done.Task, () => _writes.Writer.TryWrite(job))) done.SetException(new ObjectDisposedException(nameof(SqliteDatabase)));
        return done.Task;
    }

    private static T Transaction<T>(SqliteConnection conn, Func<SqliteConnection, SqliteTransaction, T> work, bool durable)
    {
        if (durable) conn.Execute("PRAGMA synchronous=FULL;");
        try
        {
            var tx = conn.BeginTransaction();
            try
            {
                var result = work(conn, tx);
                tx.Commit();
                return result;
            }
            finally
            {
                RollBackUnlessCommitted(tx);
            }
        }
        finally
        {
            if (durable) conn.Execute("PRAGMA synchronous=NORMAL;");
        }
    }

    /// <summary>
    /// After SQLITE_FULL or an I/O error SQLite may already have rolled the transaction back
    /// itself; the ROLLBACK that disposal sends then fails ("no transaction is active") and would
    /// hide the error that matters, so its failure is only noted.
    /// </summary>
    private static void RollBackUnlessCommitted(SqliteTransaction tx)
    {
        try
        {
            tx.Dispose();
        }
        catch (SqliteException ex)
        {
            Log.Debug($"Rollback after a failed write: {ex.Message}");
        }
    }

    /// <summary>The writer thread: takes queued writes in order until the database is disposed, then closes the writer.</summary>
    private void RunWriter()
    {
        // Archive commits are background work: they must not take the CPU from the loop and the
        // sockets (a mass reset's archive rows delayed the resumes behind it; docs/PERFORMANCE.md).
        LuaXmpp.Threading.BackgroundPriority.LowerCurrentThread();
        var reader = _writes.Reader;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var job)) Execute(job);
                // A dedicated thread: blocking it while the queue is empty costs nothing else.
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
            }
        }
        finally
        {
            _writer = Discard(_writer);
        }
    }

    private void Execute(WriteJob job)
    {
        try
        {
            _writer ??= OpenWriter();
            job.Run(_writer);
            _writeHealth.Succeeded();
        }
        catch (SqliteException ex)
        {
            // After a full disk, a read-only remount or an I/O error, reopen on the next write:
            // that is how storage comes back without a restart. A busy file only needs a retry.
            if (SqliteErrors.Classify(ex) != StorageFailure.Busy) _writer = Discard(_writer);
            job.Fail(_writeHealth.Failed(ex));
        }
        catch (Exception ex)
        {
            job.Fail(ex);
        }
    }

    private static SqliteConnection? Discard(SqliteConnection? conn)
    {
        try
        {
            conn?.Dispose();
        }
        catch (SqliteException ex)
        {
            // Closing can fail on the same broken file (e.g. the final checkpoint); the handle is released anyway.
            Log.Debug($"Closing a failed SQLite connection: {ex.Message}");
        }
        return null;
    }

    private SqliteConnection OpenWriter()
    {
        var conn = Open();
        try
        {
            if (!_inMemory && SQLitePCL.raw.sqlite3_db_readonly(conn.Handle, "main") == 1)
            {
                // SQLite fell back to read-only (file mode, directory or filesystem); reads work, writes fail
                // with a logged error until the file is writable again, when the next write reopens it.
                // Said once per burst: every failed write reopens.
                if (!_writeHealth.Failing) Log.Warn($"Database {Path} opened read-only: check its permissions and filesystem; writes will fail until it is writable");
            }
            else
            {
                // WAL: a commit appends its pages to the -wal file with write(); with synchronous=NORMAL
                // (set in Open) there is no fsync at commit, only at checkpoints. Once write() returned
                // the pages are in the kernel's page cache, so a commit survives the process being
                // killed (SIGKILL, crash): the next open replays the WAL. What it does not survive is a
                // power loss or OS crash before the kernel flushed them: then the newest commits are
                // gone, but the file is still consistent (WAL frames carry checksums; a torn tail is
                // ignored). Callers that need a commit to survive that ask for synchronous=FULL per
                // write (WriteAsync durable: archive_durability = "strict"), which fsyncs the WAL.
                if (!_inMemory) conn.Execute("PRAGMA journal_mode=WAL;");
                conn.Execute(WriterTuning);
                conn.Execute(ProsodySchema);
                conn.Execute(ProsodySql.LuaXmppIndexes);
                if (FullText.Opened(conn)) CatchUpFullText();
            }
            _schemaReady = true;
            return conn;
        }
        catch
        {
            Discard(conn);
            throw;
        }
    }

    private SqliteConnection Open()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        conn.Execute($"PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA synchronous=NORMAL;");
        return conn;
    }

    /// <summary>Finishes every write already queued, then closes the connections.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _writes.Writer.TryComplete();
        if (Thread.CurrentThread != _writerThread) _writerThread.Join();
        _completions.Dispose();
        _disposed = true;
        while (_readers.TryTake(out var conn)) conn.Dispose();
    }

    private readonly record struct WriteJob(Action<SqliteConnection> Run, Action<Exception> Fail);
}
