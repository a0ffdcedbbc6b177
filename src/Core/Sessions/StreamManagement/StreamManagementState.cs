using System.Buffers;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>
/// The counters and the unacknowledged queue of one stream-managed session (XEP-0198 §4, §5):
/// pure bookkeeping, no I/O, so it is exactly testable.
/// </summary>
/// <remarks>
/// <para>h values on the wire are 32-bit and wrap to 0 after 2^32 − 1 (XEP-0198 §4). Internally
/// the outbound side counts in 64 bits and maps each incoming h onto the nearest position at or
/// after the last acknowledged one, so wrap-around needs no special case: an ack is the
/// distance <c>h − acked (mod 2^32)</c>, and a distance larger than what is unacknowledged is a
/// claim to have handled stanzas we never sent.</para>
/// <para>The queue is bounded by count and by bytes. What falls off the front is not dropped:
/// message stanzas move to a spill list (they still count as unacknowledged, and end up in
/// offline storage if the session dies), other stanzas are only counted. Either way the
/// session is no longer resumable (<see cref="Overflowed"/>), since a resume could not re-send
/// everything the client missed. The spill is bounded too (64 messages or 256 KiB at most):
/// once full, the owner takes it (<see cref="TakeSpill"/>) and hands it to offline storage
/// at once, so a client that never acks cannot grow server memory (issue 16, item 2).</para>
/// <para>Each held stanza is kept serialized, as UTF-8 bytes, and counted in those bytes: a
/// copied element tree holds its text as UTF-16 strings plus its node objects, twice or more what
/// goes on the wire, and the byte bound counted characters, so a full queue of 20 KB messages
/// held 16 MiB for its 8 MiB bound (issue 16, item 2). The elements are rebuilt only for what
/// reads them back (a resume's re-send, offline storage, the queue events).</para>
/// </remarks>
public sealed class StreamManagementState
{
    // Array-backed queues: an empty one holds no array, and a drained one can give its array
    // back (TrimExcess), which matters with many idle or hibernating sessions.
    private readonly Queue<Entry> _queue = new();
    private readonly Queue<Entry> _spill = new();
    private readonly int _maxCount;
    private readonly long _maxBytes;
    private ulong _sent;
    private ulong _acked;
    private long _bytes;
    private long _spillBytes;

    public StreamManagementState(int maxCount, long maxBytes)
    {
        _maxCount = Math.Max(1, maxCount);
        _maxBytes = Math.Max(1, maxBytes);
    }

    /// <summary>Stanzas received from the client (the h we report in &lt;a/&gt;), modulo 2^32.</summary>
    public uint Handled { get; private set; }

    /// <summary>Stanzas sent to the client, modulo 2^32.</summary>
    public uint Sent => unchecked((uint)_sent);

    /// <summary>The last h the client acknowledged, modulo 2^32.</summary>
    public uint Acked => unchecked((uint)_acked);

    /// <summary>Stanzas sent but not yet acknowledged, including any that overflowed the queue.</summary>
    public long Unacked => (long)(_sent - _acked);

    /// <summary>Stanzas held in the bounded queue (what a resume can re-send).</summary>
    public int QueuedCount => _queue.Count;

    public long QueuedBytes => _bytes;

    /// <summary>Set once anything fell off the queue: from then on the session cannot be resumed.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Non-message stanzas that fell off the queue unacknowledged (Prosody drops these silently too).</summary>
    public long DroppedNonMessages { get; private set; }

    /// <summary>Counts one stanza received from the client; returns the new h.</summary>
    public uint CountInbound() => Handled = unchecked(Handled + 1);

    /// <summary>
    /// Counts a stanza sent to the client and keeps <paramref name="copy"/> until it is
    /// acknowledged. Returns true when this push overflowed the queue for the first time.
    /// </summary>
    public bool Enqueue(XmlElement copy) => Enqueue(copy, null);

    /// <summary>As <see cref="Enqueue(XmlElement)"/>, held as if <paramref name="lastChild"/> (a delay stamp) were appended to the stanza.</summary>
    public bool Enqueue(XmlElement stanza, XmlElement? lastChild)
    {
        _sent++;
        var entry = new Entry(_sent, Serialize(stanza, lastChild), stanza.Name == "message");
        _queue.Enqueue(entry);
        _bytes += entry.Bytes;
        bool first = false;
        while (_queue.Count > _maxCount || (_bytes > _maxBytes && _queue.Count > 1))
        {
            var oldest = _queue.Dequeue();
            _bytes -= oldest.Bytes;
            if (oldest.IsMessage)
            {
                _spill.Enqueue(oldest);
                _spillBytes += oldest.Bytes;
            }
            else DroppedNonMessages++;
            first |= !Overflowed;
            Overflowed = true;
        }
        return first;
    }

    /// <summary>The spill reached its bound: time to hand it on (<see cref="TakeSpill"/>).</summary>
    public bool SpillFull => _spill.Count >= Math.Min(_maxCount, MaxSpillCount) || _spillBytes >= Math.Min(_maxBytes, MaxSpillBytes);

    // Small batches: what waits here is held twice over on its way to storage (here and in the
    // Lua stanzas the offline handler writes), so the bound is well below the queue's.
    private const int MaxSpillCount = 64;
    private const long MaxSpillBytes = 256 * 1024;

    // While one batch is still being stored, the spill may grow to this many batches; past that
    // offline storage is not keeping up with what the session is sent, and the owner ends it.
    private const int MaxSpillBatches = 4;

    /// <summary>The spill holds <see cref="MaxSpillBatches"/> batches: storage is falling behind.</summary>
    public bool SpillOverLimit => _spill.Count >= MaxSpillBatches * Math.Min(_maxCount, MaxSpillCount)
        || _spillBytes >= MaxSpillBatches * Math.Min(_maxBytes, MaxSpillBytes);

    /// <summary>Messages held in the spill.</summary>
    public int SpilledCount => _spill.Count;

    /// <summary>
    /// Removes the spilled messages, oldest first, for offline storage. They stay counted as
    /// sent and unacknowledged (the client's h still counts them), but are no longer held.
    /// </summary>
    public IReadOnlyList<XmlElement> TakeSpill()
    {
        var list = new List<XmlElement>(_spill.Count);
        foreach (var e in _spill) list.Add(e.Element());
        _spill.Clear();
        _spill.TrimExcess();
        _spillBytes = 0;
        return list;
    }

    /// <summary>Whether <paramref name="h"/> is a valid acknowledgement now (does not claim more than was sent).</summary>
    public bool CanAck(uint h) => unchecked(h - Acked) <= Unacked;

    /// <summary>Processes &lt;a h='…'/&gt;: trims everything up to h from the queue.</summary>
    public AckResult Ack(uint h)
    {
        uint delta = unchecked(h - Acked);
        if (delta > Unacked) return AckResult.TooMany(h, Sent);
        _acked += delta;
        TrimSpill();
        while (_queue.TryPeek(out var oldest) && oldest.Sequence <= _acked)
        {
            _bytes -= oldest.Bytes;
            _queue.Dequeue();
        }
        return AckResult.Ok(delta, h, Sent);
    }

    /// <summary>Everything unacknowledged that is still held (spilled messages first), oldest first.</summary>
    public IReadOnlyList<XmlElement> Unacknowledged()
    {
        var list = new List<XmlElement>(_spill.Count + _queue.Count);
        foreach (var e in _spill) list.Add(e.Element());
        foreach (var e in _queue) list.Add(e.Element());
        return list;
    }

    /// <summary>The queue a resume re-sends, oldest first (meaningful only when not <see cref="Overflowed"/>).</summary>
    public IEnumerable<XmlElement> Queued() => _queue.Select(e => e.Element());

    /// <summary>The outbound position: how many stanzas were ever sent (64-bit, never wraps).</summary>
    public ulong SentTotal => _sent;

    /// <summary>
    /// Adds to <paramref name="into"/> the queued stanzas sent after position <paramref name="after"/>
    /// up to <paramref name="through"/>, oldest first, at most <paramref name="max"/>; returns the
    /// position of the last one added (or <paramref name="after"/>). A resume re-sends the queue in
    /// slices with it (XEP-0198 §5), while acks may trim the queue's front between slices. The
    /// stanzas come as the queue holds them, serialized (see <see cref="Network.IClientConnection.SendSerialized"/>).
    /// </summary>
    public ulong QueuedBetween(ulong after, ulong through, int max, List<byte[]> into)
    {
        ulong last = after;
        foreach (var e in _queue)
        {
            if (e.Sequence <= after) continue;
            if (e.Sequence > through || max-- <= 0) break;
            into.Add(e.Xml);
            last = e.Sequence;
        }
        return last;
    }

    /// <summary>Removes and returns everything unacknowledged, for delivery elsewhere when the session ends.</summary>
    public IReadOnlyList<XmlElement> TakeUnacknowledged()
    {
        var list = Unacknowledged();
        _spill.Clear();
        _queue.Clear();
        _bytes = _spillBytes = 0;
        _acked = _sent;
        return list;
    }

    /// <summary>
    /// Sets both counters, with nothing outstanding. For diagnostics and tests of the 2^32 wrap,
    /// which cannot be reached by sending four billion stanzas.
    /// </summary>
    public void SetCounters(uint handled, uint sent)
    {
        Handled = handled;
        _queue.Clear();
        _spill.Clear();
        _bytes = _spillBytes = 0;
        _sent = _acked = sent;
    }

    /// <summary>Gives back the queues' spare capacity (the session went idle: it hibernates).</summary>
    public void TrimExcess()
    {
        _queue.TrimExcess();
        _spill.TrimExcess();
    }

    private void TrimSpill()
    {
        while (_spill.TryPeek(out var oldest) && oldest.Sequence <= _acked)
        {
            _spillBytes -= oldest.Bytes;
            _spill.Dequeue();
        }
    }

    // One buffer for every session's serialization (all on the loop thread; ThreadStatic keeps
    // another thread's use, e.g. a test's, apart); only the exact bytes are kept per stanza.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    private static byte[] Serialize(XmlElement element, XmlElement? lastChild)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        XmlElementWriter.Write(buffer, element, Namespaces.Client, lastChild);
        var bytes = buffer.WrittenSpan.ToArray();
        // A huge stanza (up to the 256 KiB stanza limit) does not keep its buffer for good.
        if (buffer.Capacity > 64 * 1024) t_buffer = null;
        return bytes;
    }

    /// <summary>A queued stanza: its position, its UTF-8 serialization, and whether it is a message (spilled rather than dropped).</summary>
    private readonly record struct Entry(ulong Sequence, byte[] Xml, bool IsMessage)
    {
        // The array's length is what the queue costs (plus a small constant per entry).
        public long Bytes => Xml.Length;

        public XmlElement Element() => StoredXml.Parse(Xml);
    }
}
