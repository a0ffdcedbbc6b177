namespace LuaXmpp.Archive;

/// <summary>
/// RSM totals per (user, filter), kept right instead of recounted for every page: a paging
/// client asks for the same total on every page, and COUNT(*) over a large archive costs far
/// more than the page itself. Appends increment the cached totals they match once committed;
/// deletes drop the user's totals (expiry drops all).
/// </summary>
/// <remarks>
/// A total computed by a query is only kept if no change to that user's archive began while it
/// was counted: changes bump a generation before they touch the database and are marked in
/// flight until their cache update is applied, and <see cref="Store"/> compares both.
/// </remarks>
public sealed class ArchiveCountCache(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<ArchiveCountFilter, long>> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);
    private long _globalGeneration;
    private int _globalInFlight;
    private int _size;

    /// <summary>What a query saw before counting; handed back to <see cref="Store"/>.</summary>
    public readonly record struct Stamp(long User, long Global, bool Quiet);

    private sealed class UserState
    {
        public long Generation;
        public int InFlight;
    }

    public int Count
    {
        get { lock (_gate) return _size; }
    }

    public bool TryGet(string user, ArchiveCountFilter filter, out long count)
    {
        lock (_gate)
        {
            count = 0;
            return _counts.TryGetValue(user, out var byFilter) && byFilter.TryGetValue(filter, out count);
        }
    }

    public Stamp Snapshot(string user)
    {
        lock (_gate)
        {
            var state = State(user);
            return new Stamp(state.Generation, _globalGeneration, state.InFlight == 0 && _globalInFlight == 0);
        }
    }

    /// <summary>Keeps a total counted after <paramref name="stamp"/> was taken, unless the archive changed meanwhile.</summary>
    public bool Store(string user, ArchiveCountFilter filter, long count, Stamp stamp)
    {
        lock (_gate)
        {
            if (!IsUnchanged(user, stamp)) return false;
            if (_size >= capacity)
            {
                _counts.Clear();
                _size = 0;
            }
            if (!_counts.TryGetValue(user, out var byFilter)) _counts[user] = byFilter = new();
            if (byFilter.TryAdd(filter, count)) _size++;
            else byFilter[filter] = count;
            return true;
        }
    }

    /// <summary>True when no change to the user's archive began or was under way since <paramref name="stamp"/>.</summary>
    public bool Unchanged(string user, Stamp stamp)
    {
        lock (_gate) return IsUnchanged(user, stamp);
    }

    private bool IsUnchanged(string user, Stamp stamp)
    {
        var state = State(user);
        return stamp.Quiet && state.Generation == stamp.User && _globalGeneration == stamp.Global
            && state.InFlight == 0 && _globalInFlight == 0;
    }

    /// <summary>Called before a change to these users' archives reaches the database.</summary>
    public void BeginChange(IEnumerable<string> users)
    {
        lock (_gate)
        {
            foreach (var user in users)
            {
                var state = State(user);
                state.Generation++;
                state.InFlight++;
            }
        }
    }

    /// <summary>Called once appended items are committed: totals they match grow.</summary>
    public void EndAppend(IReadOnlyList<Storage.ArchiveAppend> items)
    {
        lock (_gate)
        {
            foreach (var item in items)
            {
                if (!_counts.TryGetValue(item.User, out var byFilter)) continue;
                foreach (var filter in byFilter.Keys.ToArray())
                {
                    if (filter.Matches(item.With, item.When)) byFilter[filter]++;
                }
            }
            foreach (var user in items.Select(i => i.User).Distinct()) State(user).InFlight--;
        }
    }

    /// <summary>Called after a delete or a failed commit: the users' totals are no longer known.</summary>
    public void EndChangeForget(IEnumerable<string> users)
    {
        lock (_gate)
        {
            foreach (var user in users)
            {
                State(user).InFlight--;
                if (_counts.Remove(user, out var byFilter)) _size -= byFilter.Count;
            }
        }
    }

    /// <summary>Before a change that may touch any user (expiry).</summary>
    public void BeginGlobalChange()
    {
        lock (_gate)
        {
            _globalGeneration++;
            _globalInFlight++;
        }
    }

    public void EndGlobalChange()
    {
        lock (_gate)
        {
            _globalInFlight--;
            _counts.Clear();
            _size = 0;
        }
    }

    private UserState State(string user)
    {
        if (!_users.TryGetValue(user, out var state)) _users[user] = state = new UserState();
        return state;
    }
}
