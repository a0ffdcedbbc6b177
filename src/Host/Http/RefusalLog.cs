using LuaXmpp.Logging;

namespace LuaXmpp.Host.Http;

/// <summary>One log line per burst of refusals (at most one per 10 s), with the count so far.</summary>
internal sealed class RefusalLog(Logger log, string what)
{
    private long _refused;
    private long _lastLogged;

    public void Refused(string ip, string limit)
    {
        var refused = Interlocked.Increment(ref _refused);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastLogged);
        if (last != 0 && now - last < 10_000) return;
        if (Interlocked.CompareExchange(ref _lastLogged, now, last) != last) return;
        log.Warn($"{what} from {ip} refused ({limit}); {refused} refused so far");
    }
}
