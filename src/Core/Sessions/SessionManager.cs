using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sessions;

/// <summary>
/// The registry of client sessions (Prosody's core/sessionmanager.lua): every connected session,
/// bound sessions by full JID and by account, resource binding with conflict resolution, and
/// session destruction with Prosody's events. Loop-thread owned.
/// </summary>
public sealed class SessionManager
{
    private readonly Func<string, HostContext?> _hosts;
    private readonly Logger _log = Logger.For("sessionmanager");
    private readonly HashSet<ClientSession> _unbinding = new();

    public SessionManager(Func<string, HostContext?> hosts) => _hosts = hosts;

    /// <summary>Every client session, bound or not.</summary>
    public HashSet<ClientSession> All { get; } = new();

    /// <summary>Bound sessions by full JID (prosody.full_sessions).</summary>
    public Dictionary<string, ClientSession> FullSessions { get; } = new(StringComparer.Ordinal);

    /// <summary>Accounts with at least one bound session (prosody.bare_sessions).</summary>
    public Dictionary<string, BareSession> BareSessions { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Work that must finish before a bind completes (loading the roster, say). Run in order,
    /// on the loop, for the first resource of an account and every other.
    /// </summary>
    public List<Func<ClientSession, BareSession, Task>> BindPreparers { get; } = new();

    /// <summary>How a bind to a resource already in use is resolved: "kick_old" (Prosody's default), "kick_new", "random", "increment".</summary>
    public Func<string, string> ConflictPolicy { get; set; } = _ => "kick_old";

    /// <summary>
    /// Raised after a session was destroyed and its unbind events ran, so that holders of
    /// per-session state (the Lua session tables) can let it go without scanning every session.
    /// </summary>
    public event Action<ClientSession>? SessionDestroyed;

    /// <summary>Raised when a connection's session is created (Prosody's mod_c2s onconnect).</summary>
    public event Action<ClientSession>? SessionRegistered;

    public void Register(ClientSession session)
    {
        All.Add(session);
        SessionRegistered?.Invoke(session);
    }

    public ClientSession? GetFull(string fullJid) => FullSessions.GetValueOrDefault(fullJid);

    public BareSession? GetBare(string bareJid) => BareSessions.GetValueOrDefault(bareJid);

    /// <summary>
    /// Binds a resource (RFC 6120 §7). Null or empty asks for a server-generated resource.
    /// Returns null on success, or the stanza error to answer the bind request with.
    /// </summary>
    public async Task<StanzaError?> BindAsync(ClientSession session, string? requested)
    {
        if (session.Username is null) return StanzaError.NotAllowed("Authenticate first");
        if (session.FullJid is not null) return StanzaError.NotAllowed("A resource is bound already");
        string resource;
        if (string.IsNullOrEmpty(requested)) resource = GenerateResource();
        else if (JidPrep.Resourceprep(requested) is { } prepared) resource = prepared;
        else return StanzaError.BadRequest("Invalid resource");

        var bare = session.Username + "@" + session.Host;
        var existing = FullSessions.GetValueOrDefault(bare + "/" + resource);
        if (existing is not null)
        {
            switch (ConflictPolicy(session.Host))
            {
                case "kick_new":
                    return StanzaError.Conflict("Resource already in use");
                case "random":
                    resource += GenerateResource();
                    break;
                case "increment":
                    int n = 2;
                    while (FullSessions.ContainsKey($"{bare}/{resource}{n}")) n++;
                    resource += n;
                    break;
                default:
                    // RFC 6120 §7.7.2.2: the server may terminate the old session with <conflict/>.
                    existing.Close(StreamErrorCondition.Conflict, "Replaced by new connection");
                    Destroy(existing, "Replaced by new connection");
                    break;
            }
        }

        var full = Jid.Create(session.Username, session.Host, resource);
        if (full is null) return StanzaError.BadRequest("Invalid resource");
        // The account's entry is registered only once binding succeeds, so a session that dies
        // while the roster loads leaves nothing behind. Another resource may have bound meanwhile:
        // then its entry (and roster) is the one to join.
        var bareSession = BareSessions.GetValueOrDefault(bare) ?? new BareSession(bare);
        foreach (var prepare in BindPreparers) await prepare(session, bareSession);
        if (session.Destroyed) return StanzaError.Conflict("Session closed while binding");
        if (BareSessions.TryGetValue(bare, out var current)) bareSession = current;
        else BareSessions[bare] = bareSession;

        session.Resource = resource;
        session.FullJid = full;
        session.Type = "c2s";
        FullSessions[full.ToString()] = session;
        bareSession.Sessions[resource] = session;
        // As in Prosody, where bind_resource runs in the session's runner: a handler may wait
        // (mod_bookmarks' migration and mod_pep read storage here) without holding the loop.
        if (_hosts(session.Host) is { } host) await host.Events.FireAsync("resource-bind", SessionEvent(session, null));
        return null;
    }

    /// <summary>
    /// Removes a session from the registry, firing pre-resource-unbind (presence modules send
    /// unavailable presence there; a non-null result keeps the session) and resource-unbind
    /// when it was bound. Idempotent.
    /// </summary>
    public void Destroy(ClientSession session, string? reason)
    {
        if (session.Destroyed || _unbinding.Contains(session)) return;
        var host = session.FullJid is null ? null : _hosts(session.Host);
        if (host is not null)
        {
            // As in Prosody, a handler may keep the session (stream management hibernates it):
            // any non-null result of pre-resource-unbind cancels the destruction.
            _unbinding.Add(session);
            object? kept;
            try
            {
                // The destruction cannot wait: Lua's destroy_session retires the session's table
                // as soon as this returns (as Prosody's, where these handlers cannot wait either).
                if (!host.Events.TryFire("pre-resource-unbind", SessionEvent(session, reason), out kept)) WarnWaited(host);
            }
            finally
            {
                _unbinding.Remove(session);
            }
            if (kept is not null && !session.Destroyed)
            {
                session.Log.Debug("Resource unbind prevented by a module");
                return;
            }
        }
        Remove(session, host, reason);
    }

    private bool _warnedWaited;

    /// <summary>
    /// A pre-resource-unbind handler waited: the session is destroyed now (a handler that waits
    /// cannot keep it), and the rest of the chain runs when the wait ends. Said once.
    /// </summary>
    private void WarnWaited(HostContext host)
    {
        if (_warnedWaited) return;
        _warnedWaited = true;
        _log.Warn($"A pre-resource-unbind handler waited (handlers of {host.Events.DescribeOwners("pre-resource-unbind")}): " +
            "sessions are destroyed without waiting for it, and the rest of its chain runs later");
    }

    private void Remove(ClientSession session, HostContext? host, string? reason)
    {
        session.Destroyed = true;
        All.Remove(session);
        try
        {
            Unbind(session, host, reason);
        }
        finally
        {
            SessionDestroyed?.Invoke(session);
        }
    }

    private void Unbind(ClientSession session, HostContext? host, string? reason)
    {
        if (session.FullJid is not { } full) return;
        FullSessions.Remove(full.ToString());
        var bare = full.Bare.ToString();
        if (BareSessions.TryGetValue(bare, out var bs))
        {
            bs.Sessions.Remove(session.Resource!);
            if (bs.Sessions.Count == 0) BareSessions.Remove(bare);
        }
        host?.Events.Fire("resource-unbind", SessionEvent(session, reason));
        _log.Debug($"Destroyed session {full}: {reason ?? "closed"}");
    }

    private static EventData SessionEvent(ClientSession session, string? error)
    {
        var e = new EventData(session);
        e["session"] = session;
        if (error is not null) e["error"] = error;
        return e;
    }

    private static string GenerateResource() => Guid.NewGuid().ToString("N")[..12];
}
