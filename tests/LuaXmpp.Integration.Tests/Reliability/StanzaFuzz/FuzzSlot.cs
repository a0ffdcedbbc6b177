using System.Xml.Linq;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// One fuzzed session position: its account, resource, whether it logs in with XEP-0198, its current
/// connection, and the inputs sent on it whose trailing ping is not answered yet. The server handles a
/// session's input in order, so the answer to an input's ping means that input was handled.
/// </summary>
public sealed class FuzzSlot(int index, FuzzUser user, string resource, bool smacks, string host)
{
    // Types echoed from fuzzed stanzas would make the tally unbounded: the rest count as "other".
    private static readonly HashSet<string> KnownTypes =
        ["get", "set", "result", "chat", "groupchat", "headline", "normal", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "unavailable"];

    private readonly Queue<(StanzaFuzzInput Input, string PingId, DateTime Sent)> _pending = new();
    private readonly Lock _gate = new();
    private StanzaFuzzReport? _report;

    public int Index { get; } = index;

    public FuzzUser User { get; } = user;

    public string Resource { get; } = resource;

    public bool Smacks { get; } = smacks;

    public FuzzConnection? Connection { get; private set; }

    /// <summary>Released whenever a ping is answered or the connection ends.</summary>
    public SemaphoreSlim Progress { get; } = new(0);

    public string FullJid => Connection?.Jid ?? $"{User.Name}@{host}/{Resource}";

    public int PendingCount
    {
        get
        {
            lock (_gate) return _pending.Count;
        }
    }

    /// <summary>When the oldest unanswered input was sent, if any.</summary>
    public DateTime? OldestSent
    {
        get
        {
            lock (_gate) return _pending.Count > 0 ? _pending.Peek().Sent : null;
        }
    }

    public void Attach(FuzzConnection connection, StanzaFuzzReport report)
    {
        _report = report;
        Connection = connection;
        connection.Received += e => OnReceived(connection, e);
        connection.Ended.ContinueWith(_ => Progress.Release(), TaskScheduler.Default);
    }

    /// <summary>Forgets the connection (the caller disposes it) and hands back the inputs still unanswered, oldest first.</summary>
    public List<StanzaFuzzInput> Detach()
    {
        lock (_gate)
        {
            Connection = null;
            var pending = _pending.Select(p => p.Input).ToList();
            _pending.Clear();
            return pending;
        }
    }

    public void AddPending(StanzaFuzzInput input, string pingId)
    {
        lock (_gate) _pending.Enqueue((input, pingId, DateTime.UtcNow));
    }

    private void OnReceived(FuzzConnection connection, XElement element)
    {
        string name = element.Name.LocalName;
        string? type = (string?)element.Attribute("type");
        string? id = (string?)element.Attribute("id");
        if (name == "iq" && id is not null && id.StartsWith("fzp-", StringComparison.Ordinal))
        {
            lock (_gate)
            {
                if (connection != Connection) return;
                while (_pending.Count > 0)
                {
                    var answered = _pending.Dequeue();
                    _report?.Count("handled");
                    if (answered.PingId == id) break;
                }
            }
            Progress.Release();
            return;
        }
        if (type == "error")
        {
            var condition = element.Elements().FirstOrDefault(e => e.Name.LocalName == "error")?.Elements()
                .FirstOrDefault(e => e.Name.NamespaceName == "urn:ietf:params:xml:ns:xmpp-stanzas" && e.Name.LocalName != "text")?.Name.LocalName;
            _report?.Reply($"{name}-error:{condition ?? "(none)"}");
        }
        else if (element.Name.NamespaceName == "jabber:client" && name is "message" or "presence" or "iq") _report?.Reply($"{name}-{(type is null ? "none" : KnownTypes.Contains(type) ? type : "other")}");
        else _report?.Reply("nonza");
    }
}
