using System.Collections.Concurrent;
using LuaXmpp.Accounts;
using LuaXmpp.Logging;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Runtime;

/// <summary>A client connection that records what the server sends.</summary>
internal sealed class RecordingConnection : IClientConnection
{
    public ConcurrentQueue<XmlElement> Sent { get; } = new();

    public ConcurrentQueue<string> Raw { get; } = new();

    public bool Closed { get; private set; }

    public string RemoteAddress => "127.0.0.1";

    public bool IsSecure => true;

    public void Send(XmlElement element) => Sent.Enqueue(element);

    public void SendRaw(string text) => Raw.Enqueue(text);

    public StreamErrorCondition? CloseCondition { get; private set; }

    public void Close(StreamErrorCondition? error = null, string? text = null)
    {
        Closed = true;
        CloseCondition ??= error;
    }
}

/// <summary>In-memory stores: keyval and map over the same records, archive as a list.</summary>
internal sealed class MemoryStorage : IStorageManager
{
    private readonly ConcurrentDictionary<(string, string), MemoryStore> _stores = new();

    private MemoryStore Get(string host, string store) => _stores.GetOrAdd((host, store), _ => new MemoryStore());

    public IKeyValueStore OpenKeyValue(string host, string store) => Get(host, store);

    public IMapStore OpenMap(string host, string store) => Get(host, store);

    public IArchiveStore OpenArchive(string host, string store) => Get(host, store);

    public Task PurgeUserAsync(string host, string user) => Task.CompletedTask;

    private sealed class MemoryStore : IKeyValueStore, IMapStore, IArchiveStore
    {
        private readonly Dictionary<string, DataTable> _data = new();
        private readonly List<(string User, ArchiveItem Item)> _archive = new();
        private int _next;

        private static string U(string? user) => user ?? "";

        public Task<DataTable?> GetAsync(string? user) => Task.FromResult(_data.GetValueOrDefault(U(user)));

        public Task SetAsync(string? user, DataTable? data)
        {
            if (data is null || data.Count == 0) _data.Remove(U(user));
            else _data[U(user)] = data;
            return Task.CompletedTask;
        }

        public async IAsyncEnumerable<string> UsersAsync()
        {
            await Task.CompletedTask;
            foreach (var k in _data.Keys.ToArray()) yield return k;
        }

        public Task<object?> GetAsync(string? user, object key) =>
            Task.FromResult(_data.GetValueOrDefault(U(user))?.GetValueOrDefault(key));

        public Task SetAsync(string? user, object key, object? value) =>
            SetKeysAsync(user, new Dictionary<object, object?> { [key] = value });

        public Task SetKeysAsync(string? user, IReadOnlyDictionary<object, object?> values)
        {
            if (!_data.TryGetValue(U(user), out var t)) _data[U(user)] = t = new DataTable();
            foreach (var (k, v) in values)
            {
                if (v is null) t.Remove(k);
                else t[k] = v;
            }
            return Task.CompletedTask;
        }

        public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with)
        {
            key ??= "id" + ++_next;
            _archive.Add((U(user), new ArchiveItem(key, when, with, value)));
            return Task.FromResult(key);
        }

        public Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query)
        {
            var items = _archive.Where(x => x.User == U(user) && (query.With is null || x.Item.With == query.With))
                .Select(x => x.Item).ToList();
            if (query.Limit is { } limit) items = items.Take(limit).ToList();
            return Task.FromResult(new ArchiveResult(items, items.Count));
        }

        public Task<long> DeleteAsync(string? user, ArchiveQuery query) =>
            Task.FromResult((long)_archive.RemoveAll(x => x.User == U(user)));

        public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => Task.FromResult(0L);
    }
}

/// <summary>Accounts in a dictionary.</summary>
internal sealed class MemoryAuth : IAuthProvider
{
    private readonly ConcurrentDictionary<string, string> _users = new();

    public string Name => "internal_plain";

    public Task<bool> UserExistsAsync(string user) => Task.FromResult(_users.ContainsKey(user));

    public Task<bool> CreateUserAsync(string user, string password) => Task.FromResult(_users.TryAdd(user, password));

    public Task<bool> SetPasswordAsync(string user, string password)
    {
        if (!_users.ContainsKey(user)) return Task.FromResult(false);
        _users[user] = password;
        return Task.FromResult(true);
    }

    public Task<bool> DeleteUserAsync(string user) => Task.FromResult(_users.TryRemove(user, out _));

    public Task<bool> TestPasswordAsync(string user, string password) =>
        Task.FromResult(_users.TryGetValue(user, out var p) && p == password);

    public Task<ScramCredentials?> GetScramCredentialsAsync(string user, ScramHash hash) => Task.FromResult<ScramCredentials?>(null);

    public async IAsyncEnumerable<string> UsersAsync()
    {
        await Task.CompletedTask;
        foreach (var u in _users.Keys) yield return u;
    }
}

/// <summary>Keeps log lines for assertions.</summary>
internal sealed class CapturingLogSink : ILogSink
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public LogLevel MinLevel => LogLevel.Debug;

    public void Write(LogEntry entry) => Entries.Enqueue(entry);

    public void Dispose()
    {
    }
}
