namespace LuaXmpp.Sasl;

/// <summary>
/// Slows down password guessing: counts authentication failures per remote address, per
/// (account, address) and per account within a sliding window and says how long to wait before
/// answering an attempt. Thread-safe.
/// </summary>
/// <remarks>
/// The delay follows the worst of: the address's failures (at any account), the failures at this
/// account from this address, and, for an address that has failed at least once, the account's
/// failures from everywhere, capped at <see cref="AccountShareCap"/>. None for the first
/// <see cref="FreeFailures"/>, then 1 s, doubling per failure up to <see cref="MaxDelay"/>.
/// So guesses spread over many addresses are slowed from each address's second attempt on, while
/// a correct login from an address with no failures of its own is never delayed by them: the
/// account's owner cannot be locked out by someone else's guesses (issue 16, item 6). A success
/// clears that address's count for the account only: one valid account must not clear the
/// address's record of guesses at others.
/// </remarks>
public sealed class AuthFailureThrottle
{
    public const int FreeFailures = 2;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The most the account's failures from other addresses count for an address with failures of
    /// its own (5: a 4 s delay); its own failures still count in full.
    /// </summary>
    public const int AccountShareCap = FreeFailures + 3;

    /// <summary>Above this many tracked keys, expired ones are swept on the next failure.</summary>
    private const int SweepThreshold = 10_000;

    /// <summary>Past this many failures the delay is capped anyway; keeping more only costs memory.</summary>
    private const int MaxTrackedFailures = 32;

    private readonly TimeProvider _time;
    private readonly TimeSpan _window;
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byIp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byUserAndIp = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public AuthFailureThrottle(TimeProvider time, TimeSpan? window = null)
    {
        _time = time;
        _window = window ?? DefaultWindow;
    }

    /// <summary>The wait before answering an attempt from <paramref name="ip"/> at <paramref name="user"/> (null: not known yet).</summary>
    public TimeSpan DelayFor(string ip, string? user)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            int fromIp = Count(_byIp, ip, now);
            int failures = fromIp;
            if (user is not null)
            {
                failures = Math.Max(failures, Count(_byUserAndIp, Pair(user, ip), now));
                if (fromIp > 0) failures = Math.Max(failures, Math.Min(AccountShareCap, Count(_byUser, user, now)));
            }
            return Delay(failures);
        }
    }

    public void RecordFailure(string ip, string? user)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            Add(_byIp, ip, now);
            if (user is null) return;
            Add(_byUser, user, now);
            Add(_byUserAndIp, Pair(user, ip), now);
        }
    }

    public void RecordSuccess(string ip, string? user)
    {
        if (user is null) return;
        lock (_lock) _byUserAndIp.Remove(Pair(user, ip));
    }

    private static string Pair(string user, string ip) => user + "\0" + ip;

    /// <summary>0 for up to <see cref="FreeFailures"/> failures, then 1 s, 2 s, 4 s … capped.</summary>
    internal static TimeSpan Delay(int failures)
    {
        if (failures <= FreeFailures) return TimeSpan.Zero;
        int exponent = Math.Min(failures - FreeFailures - 1, 16);
        var delay = TimeSpan.FromSeconds(1L << exponent);
        return delay < MaxDelay ? delay : MaxDelay;
    }

    private int Count(Dictionary<string, Queue<DateTimeOffset>> map, string key, DateTimeOffset now)
    {
        if (!map.TryGetValue(key, out var times)) return 0;
        Expire(times, now);
        if (times.Count == 0) map.Remove(key);
        return times.Count;
    }

    private void Add(Dictionary<string, Queue<DateTimeOffset>> map, string key, DateTimeOffset now)
    {
        if (map.Count > SweepThreshold) Sweep(map, now);
        if (!map.TryGetValue(key, out var times)) map[key] = times = new Queue<DateTimeOffset>();
        Expire(times, now);
        if (times.Count >= MaxTrackedFailures) times.Dequeue();
        times.Enqueue(now);
    }

    private void Expire(Queue<DateTimeOffset> times, DateTimeOffset now)
    {
        while (times.Count > 0 && now - times.Peek() >= _window) times.Dequeue();
    }

    private void Sweep(Dictionary<string, Queue<DateTimeOffset>> map, DateTimeOffset now)
    {
        foreach (var (key, times) in map)
        {
            Expire(times, now);
            if (times.Count == 0) map.Remove(key);
        }
    }
}
