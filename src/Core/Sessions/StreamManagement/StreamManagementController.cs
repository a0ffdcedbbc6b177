using System.Globalization;
using LuaXmpp.Events;
using LuaXmpp.Loop;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>
/// XEP-0198's per-stanza work for one client session, in C#: counts every stanza in both
/// directions, keeps the unacknowledged queue (through an outgoing filter on the session, so
/// whatever any module sends is counted), answers &lt;r/&gt;, processes &lt;a/&gt;, requests acks
/// and fires "smacks-ack-delayed" and "smacks-hibernation-stanza-queued". Policy (enable,
/// resume, hibernation, timeouts) stays in mod_smacks, which drives this through natives.
/// Loop-thread owned.
/// </summary>
public sealed partial class StreamManagementController
{
    private readonly ClientSession _session;
    private readonly ServerLoop _loop;
    private readonly EventBus _events;
    private readonly StreamManagementLimits _limits;
    private readonly Func<XmlElement, XmlElement?> _filter;
    private IDisposable? _ackDelayTimer;
    private bool _checkPending;
    private bool _spillPending;
    private bool _spillInFlight;
    private bool _spillClosing;
    private bool _spilledBefore;
    private uint? _lastRequested;

    public StreamManagementController(ClientSession session, string ns, ServerLoop loop, EventBus events, StreamManagementLimits limits)
    {
        _session = session;
        Namespace = ns;
        _loop = loop;
        _events = events;
        _limits = limits;
        State = new StreamManagementState(limits.MaxQueueSize, limits.MaxQueueBytes);
        _filter = FilterOutgoing;
    }

    /// <summary>urn:xmpp:sm:3 or urn:xmpp:sm:2, whichever the client enabled.</summary>
    public string Namespace { get; }

    public StreamManagementState State { get; }

    /// <summary>False once the session ended or was disabled: nothing is counted or queued any more.</summary>
    public bool Enabled { get; private set; }

    /// <summary>Resumption was negotiated and not revoked (a protocol error or a clean close revokes it).</summary>
    public bool Resumable { get; set; }

    public bool Hibernating { get; private set; }

    public DateTimeOffset? HibernatingSince { get; private set; }

    /// <summary>The client is CSI-inactive (XEP-0352): the higher ack threshold applies.</summary>
    public bool Inactive { get; set; }

    /// <summary>An &lt;r/&gt; is out and unanswered.</summary>
    public bool AwaitingAck { get; private set; }

    /// <summary>Attaches to the session: from now on its stanzas are counted and queued.</summary>
    public void Enable()
    {
        if (Enabled) return;
        Enabled = true;
        _session.StreamManagement = this;
        // Last in the chain, so what is queued is exactly what goes to the socket.
        _session.OutgoingFilters.Add(_filter);
    }

    /// <summary>Stops counting and queueing (session ended); what is still queued is handed back.</summary>
    public IReadOnlyList<XmlElement> Disable()
    {
        Enabled = false;
        Hibernating = false;
        _replay = null;
        StopAckTimer();
        _session.OutgoingFilters.Remove(_filter);
        return State.TakeUnacknowledged();
    }

    /// <summary>Counts a stanza received from the client (XEP-0198 §4: message, presence, iq).</summary>
    public void CountInbound(XmlElement element)
    {
        if (Enabled && IsStanza(element)) State.CountInbound();
    }

    /// <summary>&lt;r/&gt; from the client: answer with our h, and ask for theirs if it is due.</summary>
    public void AnswerRequest()
    {
        _session.Send(Nonza("a").SetAttribute("h", State.Handled.ToString()));
        CheckAck(false);
    }

    /// <summary>
    /// &lt;a h='…'/&gt; from the client. Returns null when fine, else the stream error to close
    /// with (a missing h, or more acknowledged than sent).
    /// </summary>
    public (StreamErrorCondition Condition, string Text)? HandleAck(XmlElement a)
    {
        AwaitingAck = false;
        StopAckTimer();
        if (!uint.TryParse(a.GetAttribute("h"), out var h))
        {
            Resumable = false;
            return (StreamErrorCondition.InvalidXml, "Missing or invalid 'h' attribute");
        }
        var result = State.Ack(h);
        if (!result.Valid)
        {
            // XEP-0198 §4: a server receiving an h larger than it sent MUST close with undefined-condition.
            _session.Log.Warn($"Client acknowledged {h}, but only {result.SentH} stanzas were sent (last acked {State.Acked})");
            Resumable = false;
            return (StreamErrorCondition.UndefinedCondition, result.ErrorText);
        }
        CheckAck(false);
        return null;
    }

    /// <summary>Sends &lt;r/&gt; if the unacked count is over the threshold (or at once, when forced).</summary>
    public void CheckAck(bool force)
    {
        if (!Enabled || Hibernating || AwaitingAck || _session.Destroyed || _session.Connection is null) return;
        if (!force)
        {
            int threshold = Inactive ? _limits.MaxInactiveUnackedStanzas : _limits.MaxUnackedStanzas;
            // The last_requested check stops an ack loop with a client that reports a wrong h.
            if (State.Unacked <= threshold || _lastRequested == State.Sent) return;
        }
        RequestAck();
    }

    /// <summary>The connection dropped and mod_smacks keeps the session: stanzas queue from now on.</summary>
    public void Hibernate()
    {
        Hibernating = true;
        HibernatingSince = _loop.Time.GetUtcNow();
        AwaitingAck = false;
        // A re-send cut short: what it did not send is still queued for the next resume.
        if (_replay is { } replay) EndReplay(replay, finished: false);
        StopAckTimer();
        _session.Connection = null;
        State.TrimExcess();
    }

    /// <summary>
    /// Checks a resume request against this (hibernating or still connected) session: null if
    /// it can go ahead, else the &lt;failed/&gt; condition and text (XEP-0198 §5).
    /// </summary>
    public (string Condition, string Text)? CheckResume(uint h)
    {
        if (!Enabled) return ("item-not-found", "The session has ended");
        if (State.Overflowed)
            return ("resource-constraint", $"Too many unacked stanzas ({State.Unacked}, queue bound {_limits.MaxQueueSize}): the session cannot be resumed; its messages go to offline storage");
        if (!State.CanAck(h))
            return ("undefined-condition", $"Client acknowledged more stanzas than sent by server (h='{h}', but only {State.Sent} sent)");
        return null;
    }

    /// <summary>
    /// XEP-0198 §5: moves this session onto the connection of <paramref name="resuming"/> (a
    /// fresh authenticated session of the same user), closing the connection it still had,
    /// acknowledges h, sends &lt;resumed/&gt; and starts re-sending the unacked stanzas once, in
    /// order (<see cref="Resync"/>: after &lt;resumed/&gt; is written, in slices).
    /// Call <see cref="CheckResume"/> first. With <paramref name="announce"/> false only the
    /// transplant happens: SASL2's inline resumption (XEP-0388 with XEP-0198) carries
    /// &lt;resumed/&gt; inside its &lt;success/&gt;, and the queue follows that (<see cref="Resync"/>).
    /// </summary>
    public void Resume(ClientSession resuming, uint h, string previd, bool announce = true)
    {
        var old = _session.Connection;
        var connection = resuming.Connection;
        if (old is not null && !ReferenceEquals(old, connection))
        {
            _session.Log.Info("Resumed from another connection; closing the old one");
            old.Close();
        }
        // A re-send still under way for an earlier resume ends here; this one starts over.
        if (_replay is { } previous) EndReplay(previous, finished: false);
        _session.Connection = connection;
        resuming.Connection = null;
        resuming.MovedTo = _session;
        _resumedFrom = resuming;
        Hibernating = false;
        HibernatingSince = null;
        AwaitingAck = false;
        _lastRequested = null;
        Resumable = true;
        State.Ack(h);
        if (!announce) return;
        connection?.Send(Nonza("resumed").SetAttribute("h", State.Handled.ToString()).SetAttribute("previd", previd));
        Resync();
    }

    /// <summary>The queue as Prosody's events carry it: a plain array of the queued copies.</summary>
    // The queue events carry a copy of the unacked queue (Prosody hands modules its queue):
    // built only when a handler is there to read it, since a hibernating session fires one
    // for every stanza queued and the copy is as long as the queue.
    private void FireWithQueue(string name, EventData e)
    {
        if (!_events.HasHandlers(name)) return;
        e["queue"] = QueueTable();
        _events.Fire(name, e);
    }

    public DataTable QueueTable()
    {
        var table = new DataTable();
        long i = 0;
        foreach (var stanza in State.Unacknowledged()) table[++i] = stanza;
        return table;
    }

    /// <summary>Top-level jabber:client stanzas are what XEP-0198 counts; nonzas are not.</summary>
    public static bool IsStanza(XmlElement element) =>
        element.Namespace == Namespaces.Client && element.Name is "message" or "presence" or "iq";

    // The delay stamp for stanzas queued now: one element per second of sending, only ever
    // serialized (never attached to a stanza), so it is shared by every stanza of that second.
    private XmlElement? _delay;
    private long _delaySecond;

    private XmlElement CurrentDelay()
    {
        var now = _loop.Time.GetUtcNow();
        long second = now.ToUnixTimeSeconds();
        if (_delay is null || second != _delaySecond)
        {
            _delay = new XmlElement("delay", "urn:xmpp:delay");
            _delay.SetAttribute("from", _session.BareJid?.ToString() ?? _session.Host)
                .SetAttribute("stamp", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            _delaySecond = second;
        }
        return _delay;
    }

    private XmlElement? FilterOutgoing(XmlElement element)
    {
        if (!Enabled || !IsStanza(element)) return element;
        // The queued copy carries a delay stamp (XEP-0203) so a re-send or an offline copy shows
        // when it was first sent, as Prosody does; iq are never stamped. It is serialized with
        // the stamp appended, so the stanza itself is neither changed nor cloned.
        var delay = element.Name != "iq" && element.Element("delay", "urn:xmpp:delay") is null ? CurrentDelay() : null;
        // Deferred: mod_smacks may end the session there, which must not happen inside Send.
        if (State.Enqueue(element, delay)) _loop.Post(OnOverflow);
        if (State.SpillFull && !_spillPending && !_spillInFlight)
        {
            _spillPending = true;
            _loop.Post(OnSpillFull);
        }
        else if (_spillInFlight && !_spillClosing && State.SpillOverLimit)
        {
            _spillClosing = true;
            _loop.Post(OnSpillOverLimit);
        }
        if (Hibernating)
        {
            var copy = element.Clone();
            if (delay is not null) copy.AddChild(delay.Clone());
            var e = new EventData(_session, copy);
            e["origin"] = _session;
            FireWithQueue("smacks-hibernation-stanza-queued", e);
            return null;
        }
        // Counted and queued; it goes out after the re-send, so it cannot overtake the queue.
        if (_replay is { } replay)
        {
            replay.Held.Add(element);
            return null;
        }
        ScheduleCheck();
        return element;
    }

    private void OnOverflow()
    {
        if (!Enabled || _session.Destroyed) return;
        _session.Log.Warn($"Stream management queue overflowed ({_limits.MaxQueueSize} stanzas / {_limits.MaxQueueBytes} bytes): the session can no longer be resumed");
        var e = new EventData(_session);
        e["origin"] = _session;
        e["session"] = _session;
        // mod_smacks ends a hibernating session at once then, instead of letting it grow.
        _events.Fire("smacks-queue-overflow", e);
    }

    // The spill of a session that does not ack is bounded like its queue: full, it goes to
    // mod_smacks, which hands each message to offline storage (or bounces it) as it does for a
    // session that ends. One batch at a time: the next is taken once the last one is stored, so
    // what waits for storage is bounded too (before, every batch was handed on at once and a
    // flood faster than the offline writes queued without bound: +276 MiB RSS for 120 MB). A
    // message the client did read may so also wait in offline storage: delivered twice rather
    // than lost.
    private void OnSpillFull()
    {
        _spillPending = false;
        if (_spillInFlight) return;
        _ = HandOnSpillAsync();
    }

    private async Task HandOnSpillAsync()
    {
        _spillInFlight = true;
        try
        {
            while (Enabled && !_session.Destroyed && State.SpilledCount > 0)
            {
                var spilled = State.TakeSpill();
                var line = $"Stream management: {spilled.Count} unacknowledged messages beyond the queue handed to offline storage";
                if (_spilledBefore) _session.Log.Debug(line);
                else _session.Log.Info(line + " (later batches are logged at debug level)");
                _spilledBefore = true;
                var table = new DataTable();
                long i = 0;
                foreach (var stanza in spilled) table[++i] = stanza;
                var e = new EventData(_session);
                e["origin"] = _session;
                e["session"] = _session;
                e["stanzas"] = table;
                await _events.FireAsync("smacks-queue-spilled", e);
                if (!State.SpillFull) break;
            }
        }
        catch (Exception ex)
        {
            _session.Log.Error("Handing unacknowledged messages to offline storage failed", ex);
        }
        finally
        {
            _spillInFlight = false;
        }
    }

    // Offline storage takes the spill slower than the session is sent messages: ending the
    // session bounds what waits (its queue and spill then go where an ending session's go), and
    // whatever is sent to the account afterwards goes to offline storage in its sender's pass,
    // which waits for the write, so the sender is paced by storage.
    private void OnSpillOverLimit()
    {
        if (!Enabled || _session.Destroyed) return;
        _session.Log.Warn($"Stream management: {State.SpilledCount} unacknowledged messages wait for offline storage, which is not keeping up; closing the session");
        _session.Close(StreamErrorCondition.PolicyViolation, "Too many unacknowledged stanzas (XEP-0198): acknowledge what you receive");
    }

    // Prosody checks when the write buffer drains; checking once after the current loop work
    // item gives the same batching: a burst of stanzas ends in one <r/>.
    private void ScheduleCheck()
    {
        if (_checkPending || AwaitingAck) return;
        _checkPending = true;
        _loop.Post(() =>
        {
            _checkPending = false;
            CheckAck(false);
        });
    }

    private void RequestAck()
    {
        AwaitingAck = true;
        _session.Send(Nonza("r"));
        _lastRequested = State.Sent;
        if (_limits.MaxAckDelay > TimeSpan.Zero && _ackDelayTimer is null)
            _ackDelayTimer = _loop.AddTimer(_limits.MaxAckDelay, OnAckDelayed);
    }

    private TimeSpan? OnAckDelayed()
    {
        _ackDelayTimer = null;
        if (!AwaitingAck || Hibernating || !Enabled || _session.Destroyed) return null;
        _session.Log.Debug($"No ack within {_limits.MaxAckDelay.TotalSeconds} s; {State.Unacked} stanzas unacked");
        var e = new EventData(_session);
        e["origin"] = _session;
        FireWithQueue("smacks-ack-delayed", e);
        return null;
    }

    private void StopAckTimer()
    {
        _ackDelayTimer?.Dispose();
        _ackDelayTimer = null;
    }

    private XmlElement Nonza(string name) => new(name, Namespace);
}
