using LuaXmpp.Configuration;
using LuaXmpp.Logging;
using LuaXmpp.Storage.Internal;
using LuaXmpp.Storage.Memory;
using LuaXmpp.Storage.Postgres;
using LuaXmpp.Storage.Sql;

namespace LuaXmpp.Storage;

/// <summary>
/// Picks a driver per (host, store) the way Prosody's storagemanager does: the <c>storage</c>
/// option (one driver name, or a table store → driver), else <c>default_storage</c>, else
/// "internal" (Prosody's flat files under data_path, <see cref="FlatFileDatabase"/>).
/// SQL databases are shared by every host whose <c>sql</c> option names the same file (SQLite3)
/// or the same server and database (PostgreSQL); another <c>sql.driver</c> stops the server.
/// </summary>
public sealed class StorageManager : IStorageManager, IDisposable
{
    private const string DefaultDatabase = "prosody.sqlite";

    private static readonly Logger Log = Logger.For("storagemanager");

    private readonly ServerConfig _config;
    private readonly string _dataPath;
    private readonly object _gate = new();
    private readonly Dictionary<string, IStorageDriver> _databases = new();
    private readonly HashSet<string> _reported = new();
    private readonly MemoryDatabase _memory = new();
    private readonly NullStorageDriver _null = new();
    private FlatFileDatabase? _internal;
    private bool _disposed;

    public StorageManager(ServerConfig config, string dataPath)
    {
        _config = config;
        _dataPath = dataPath;
        SqlDriverCheck.ThrowIfUnsupported(config, this);
    }

    public IKeyValueStore OpenKeyValue(string host, string store) => DriverFor(host, store).OpenKeyValue(host, store);

    public IMapStore OpenMap(string host, string store) => DriverFor(host, store).OpenMap(host, store);

    public IArchiveStore OpenArchive(string host, string store) => DriverFor(host, store).OpenArchive(host, store);

    /// <summary>
    /// The archive store for (host, store), or the memory driver's when the configured driver
    /// cannot hold archives (unknown or "null"): mod_mam keeps working for the process lifetime
    /// instead of dropping every message. <paramref name="fellBack"/> says which happened.
    /// </summary>
    public IArchiveStore OpenArchiveOrMemory(string host, string store, out bool fellBack)
    {
        string name = DriverNameFor(host, store);
        fellBack = name is not ("sql" or "internal" or "memory");
        if (!fellBack) return OpenArchive(host, store);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _memory.OpenArchive(host, store);
        }
    }

    /// <summary>
    /// Purges the user from every driver this host's config names (each store's and the default),
    /// as Prosody's storagemanager.purge does.
    /// </summary>
    public async Task PurgeUserAsync(string host, string user)
    {
        var drivers = new List<IStorageDriver> { DriverFor(host, null) };
        if (_config.Get(host, "storage") is ConfigTable table)
        {
            foreach (var store in table.Hash.Keys.OfType<string>()) drivers.Add(DriverFor(host, store));
        }
        foreach (var driver in drivers.Distinct()) await driver.PurgeUserAsync(host, user).ConfigureAwait(false);
    }

    /// <summary>The driver name configured for a store (null store: the host's default), before fallbacks.</summary>
    public string DriverNameFor(string host, string? store)
    {
        var option = _config.Get(host, "storage");
        string? name = option switch
        {
            string s => s,
            ConfigTable t when store is not null => StoreEntry(t, store),
            _ => null,
        };
        name ??= _config.GetString(host, "default_storage") ?? "internal";
        // Prosody renamed the temporary "sql2" module to "sql" and still accepts the old name.
        return name == "sql2" ? "sql" : name;
    }

    private static string? StoreEntry(ConfigTable table, string store)
    {
        if (ConfigValues.AsString(table.Hash.GetValueOrDefault(store)) is { } name) return name;
        // mod_mam's store was once called "archive2"; configs may use either name.
        string? alias = store switch { "archive" => "archive2", "archive2" => "archive", _ => null };
        return alias is null ? null : ConfigValues.AsString(table.Hash.GetValueOrDefault(alias));
    }

    private IStorageDriver DriverFor(string host, string? store) => DriverNamed(DriverNameFor(host, store), host, store);

    /// <summary>The driver of that name as this host's config sets it up (e.g. its <c>sql</c> database), for migrate.</summary>
    internal IStorageDriver DriverNamed(string name, string host, string? store = null)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            switch (name)
            {
                case "sql":
                    return Database(host);
                case "internal":
                    return _internal ??= new FlatFileDatabase(_dataPath);
                case "memory":
                    return _memory;
                case "null":
                    return _null;
                default:
                    ReportOnce("driver:" + name, () => Log.Warn($"Unknown storage driver \"{name}\" for {store ?? "default"} storage on {host}; falling back to the null driver"));
                    return _null;
            }
        }
    }

    /// <summary>The SQL database the host's <c>sql</c> option names (caller holds the gate).</summary>
    private IStorageDriver Database(string host)
    {
        var options = _config.Get(host, "sql") as ConfigTable;
        if (SqlDriverCheck.DriverOf(options) == SqlDriverCheck.PostgreSql)
        {
            var pg = PostgresOptions.From(options);
            string id = "postgresql:" + pg.ConnectionString();
            if (!_databases.TryGetValue(id, out var server)) _databases[id] = server = new PostgresDatabase(pg);
            return server;
        }
        string database = ConfigValues.AsString(options?.Hash.GetValueOrDefault("database")) ?? DefaultDatabase;
        string path = database == ":memory:" ? database : System.IO.Path.GetFullPath(database, System.IO.Path.GetFullPath(_dataPath));
        if (!_databases.TryGetValue(path, out var db))
        {
            if (path != ":memory:") Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            _databases[path] = db = new SqliteDatabase(path);
        }
        return db;
    }

    private void ReportOnce(string what, Action log)
    {
        if (_reported.Add(what)) log();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        foreach (var db in _databases.Values) db.Dispose();
        _internal?.Dispose();
        _memory.Dispose();
    }
}
