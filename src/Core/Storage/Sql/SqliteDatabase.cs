using System.Collections.Concurrent;
using Dapper;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// One SQLite file in Prosody's mod_storage_sql layout. Writes go through a single connection one
/// at a time (SQLite allows one writer); reads use their own connections, which WAL lets run
/// beside the writer. All database work runs on the thread pool, never on the caller's thread.
/// </summary>
internal sealed class SqliteDatabase : IStorageDriver
{
    /// <summary>Exactly the statements Prosody 0.12 issues for SQLite (util/sql.lua), so either server can open the file first.</summary>
    private const string ProsodySchema = """
        CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");
        CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" INTEGER PRIMARY KEY AUTOINCREMENT, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when");
        CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id");
        """;

    /// <summary>Ours: expiry deletes by time across all users of a store, which Prosody's indexes (user first) cannot serve.</summary>
    private const string ExtraSchema = """
        CREATE INDEX IF NOT EXISTS "luaxmpp_archive_expiry" ON "prosodyarchive" ("host", "store", "when");
        CREATE INDEX IF NOT EXISTS "luaxmpp_archive_with_sort" ON "prosodyarchive" ("host", "user", "store", "with", "sort_id");
        """;

    private const int BusyTimeoutMs = 5000;

    private readonly string _connectionString;
    private readonly bool _inMemory;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lazy<SqliteConnection> _writer;
    private readonly ConcurrentBag<SqliteConnection> _readers = new();
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
        _writer = new Lazy<SqliteConnection>(OpenWriter, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Name => "sql";

    public string Path { get; }

    public IKeyValueStore OpenKeyValue(string host, string store) => new SqliteKeyValueStore(this, host, store);

    public IMapStore OpenMap(string host, string store) => new SqliteMapStore(this, host, store);

    public IArchiveStore OpenArchive(string host, string store) => new SqliteArchiveStore(this, host, store);

    public Task PurgeUserAsync(string host, string user) => WriteAsync((c, tx) =>
    {
        var p = new { host, user };
        c.Execute("""DELETE FROM "prosody" WHERE "host"=@host AND "user"=@user""", p, tx);
        c.Execute("""DELETE FROM "prosodyarchive" WHERE "host"=@host AND "user"=@user""", p, tx);
        return true;
    });

    /// <summary>Runs a read on a pool thread with a reader connection (the writer's, for an in-memory database).</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> work)
    {
        if (_inMemory) return WriteAsync((c, _) => work(c));
        return Task.Run(() =>
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _ = _writer.Value; // the schema exists before anyone reads
            if (!_readers.TryTake(out var conn)) conn = Open();
            try
            {
                return work(conn);
            }
            finally
            {
                if (_disposed) conn.Dispose();
                else _readers.Add(conn);
            }
        });
    }

    /// <summary>Runs a write transaction on a pool thread, one at a time.</summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work) => WriteAsync(work, durable: false);

    /// <summary>
    /// Runs a write transaction on a pool thread, one at a time. <paramref name="durable"/>: this
    /// commit is synced to disk (synchronous=FULL: in WAL mode the WAL is fsynced at commit), where
    /// NORMAL only survives a process crash. SQLite allows the switch only outside a transaction.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, bool durable) => Task.Run(async () =>
    {
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var conn = _writer.Value;
            if (durable) conn.Execute("PRAGMA synchronous=FULL;");
            try
            {
                using var tx = conn.BeginTransaction();
                var result = work(conn, tx);
                tx.Commit();
                return result;
            }
            finally
            {
                if (durable) conn.Execute("PRAGMA synchronous=NORMAL;");
            }
        }
        finally
        {
            _writeGate.Release();
        }
    });

    private SqliteConnection OpenWriter()
    {
        var conn = Open();
        // WAL: a commit appends its pages to the -wal file with write(); with synchronous=NORMAL
        // (set in Open) there is no fsync at commit, only at checkpoints. Once write() returned
        // the pages are in the kernel's page cache, so a commit survives the process being
        // killed (SIGKILL, crash): the next open replays the WAL. What it does not survive is a
        // power loss or OS crash before the kernel flushed them: then the newest commits are
        // gone, but the file is still consistent (WAL frames carry checksums; a torn tail is
        // ignored). Callers that need a commit to survive that ask for synchronous=FULL per
        // write (WriteAsync durable: archive_durability = "strict"), which fsyncs the WAL.
        if (!_inMemory) conn.Execute("PRAGMA journal_mode=WAL;");
        conn.Execute(ProsodySchema);
        conn.Execute(ExtraSchema);
        return conn;
    }

    private SqliteConnection Open()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        conn.Execute($"PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA synchronous=NORMAL;");
        return conn;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _writeGate.Wait();
        try
        {
            _disposed = true;
            if (_writer.IsValueCreated) _writer.Value.Dispose();
            while (_readers.TryTake(out var conn)) conn.Dispose();
        }
        finally
        {
            _writeGate.Release();
        }
    }
}
