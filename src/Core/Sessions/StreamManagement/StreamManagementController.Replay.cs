using System.Diagnostics;
using LuaXmpp.Events;
using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.Sessions.StreamManagement;

// XEP-0198 §5: after <resumed/>, the stanzas the client's h did not acknowledge are sent again,
// once, in order. Nothing of that is on the way to <resumed/>: the re-send starts only once the
// connection has written <resumed/> (so the loop thread is free meanwhile, and on a busy machine
// the writer is not left waiting behind it), and goes in slices between other loop work. Stanzas
// routed to the session meanwhile are counted and queued as usual but held back until the
// re-send has finished, so they neither overtake it nor go out twice.
public sealed partial class StreamManagementController
{
    // Stanzas per loop work item while re-sending (smacks_max_queue_size is 500 by default).
    private const int ReplaySlice = 64;

    private Replay? _replay;

    // The fresh session the last resume came from (the origin of "smacks-hibernation-end").
    private ClientSession? _resumedFrom;

    /// <summary>
    /// Re-sends the unacked stanzas once, in order, after everything queued on the connection so
    /// far (&lt;resumed/&gt;, or SASL2's &lt;success/&gt;) is written; then asks for an ack at once
    /// (as Prosody does after a resume) and fires "smacks-hibernation-end" with the session the
    /// resume came from as the origin, as Prosody's mod_smacks does after its re-send.
    /// </summary>
    public void Resync()
    {
        if (_replay is { } previous) EndReplay(previous, finished: false);
        if (_session.Connection is not { } connection) return;
        var replay = new Replay(connection, State.SentTotal, _resumedFrom, Stopwatch.GetTimestamp());
        _replay = replay;
        _resumedFrom = null;
        connection.WhenWritten().ContinueWith(
            _ => _loop.Post(() => ReplayNext(replay)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>True while a resume's re-send is under way (new stanzas wait behind it).</summary>
    public bool Replaying => _replay is not null;

    private void ReplayNext(Replay replay)
    {
        if (!ReferenceEquals(_replay, replay)) return; // ended: hibernated, disabled or resumed again
        replay.WrittenAt ??= Stopwatch.GetTimestamp();
        if (!Enabled || !ReferenceEquals(_session.Connection, replay.Connection))
        {
            EndReplay(replay, finished: false);
            return;
        }
        var slice = new List<byte[]>(Math.Min(ReplaySlice, State.QueuedCount));
        replay.Cursor = State.QueuedBetween(replay.Cursor, replay.Through, ReplaySlice, slice);
        // As queued: parsing each back into an element to serialize it again cost ~20 µs a
        // stanza (~1.9 ms of loop for 120), right when the client reads <resumed/>.
        foreach (var xml in slice) replay.Connection.SendSerialized(xml);
        replay.Resent += slice.Count;
        replay.Slices++;
        if (slice.Count == ReplaySlice)
        {
            _loop.Post(() => ReplayNext(replay));
            return;
        }
        foreach (var stanza in replay.Held) replay.Connection.Send(stanza);
        EndReplay(replay, finished: true);
        CheckAck(true);
    }

    private void EndReplay(Replay replay, bool finished)
    {
        _replay = null;
        if (_session.Log.IsEnabled(Logging.LogLevel.Debug))
        {
            var written = replay.WrittenAt is { } at ? $"{Stopwatch.GetElapsedTime(replay.Started, at).TotalMilliseconds:F2} ms" : "never";
            _session.Log.Debug($"Resume re-send {(finished ? "done" : "cut short")}: {replay.Resent} stanzas in {replay.Slices} slices, "
                + $"{replay.Held.Count} held behind them; <resumed/> written after {written}, re-send ended after "
                + $"{Stopwatch.GetElapsedTime(replay.Started).TotalMilliseconds:F2} ms");
        }
        var e = new EventData(replay.Resuming ?? _session);
        e["origin"] = replay.Resuming ?? _session;
        e["resumed"] = _session;
        FireWithQueue("smacks-hibernation-end", e);
    }

    private sealed class Replay(IClientConnection connection, ulong through, ClientSession? resuming, long started)
    {
        public IClientConnection Connection { get; } = connection;

        /// <summary>The queue's last position at the resume: later stanzas are held, not re-sent.</summary>
        public ulong Through { get; } = through;

        public ClientSession? Resuming { get; } = resuming;

        public long Started { get; } = started;

        public ulong Cursor { get; set; }

        public long? WrittenAt { get; set; }

        public int Resent { get; set; }

        public int Slices { get; set; }

        public List<XmlElement> Held { get; } = [];
    }
}
