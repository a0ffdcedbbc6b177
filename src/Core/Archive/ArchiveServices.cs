using LuaXmpp.Logging;
using LuaXmpp.Storage;

namespace LuaXmpp.Archive;

/// <summary>
/// The archives of a server, one <see cref="ArchiveService"/> (so one writer) per (host, store):
/// hosts sharing a database each have their writer, and SQLite's single write connection
/// serialises their commits. Opened on first use; the first opener's options apply.
/// </summary>
public sealed class ArchiveServices(IStorageManager storage, TimeProvider time) : IAsyncDisposable
{
    private static readonly Logger Log = Logger.For("archive");

    private readonly Dictionary<(string Host, string Store), ArchiveService> _services = new();
    private readonly object _gate = new();
    private bool _disposed;

    public ArchiveService Open(string host, string store, ArchiveOptions options)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_services.TryGetValue((host, store), out var existing)) return existing;
            IArchiveStore archive;
            if (storage is StorageManager manager)
            {
                archive = manager.OpenArchiveOrMemory(host, store, out bool fellBack);
                if (fellBack)
                {
                    Log.Warn($"Storage driver \"{manager.DriverNameFor(host, store)}\" cannot hold the {store} archive on {host}; "
                        + "archiving in memory instead (lost at restart)");
                }
            }
            else archive = storage.OpenArchive(host, store);
            var service = new ArchiveService(archive, options, time);
            _services[(host, store)] = service;
            return service;
        }
    }

    public ArchiveService? Find(string host, string store)
    {
        lock (_gate) return _services.GetValueOrDefault((host, store));
    }

    /// <summary>The archives opened so far (a copy: metrics read their counters).</summary>
    public IReadOnlyList<ArchiveService> All()
    {
        lock (_gate) return _services.Values.ToArray();
    }

    /// <summary>Commits everything queued in every archive.</summary>
    public Task FlushAsync()
    {
        lock (_gate) return Task.WhenAll(_services.Values.Select(s => s.FlushAsync()).ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        ArchiveService[] services;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            services = _services.Values.ToArray();
            _services.Clear();
        }
        foreach (var s in services) await s.DisposeAsync().ConfigureAwait(false);
    }
}
