using System.IO.Pipelines;
using System.Text;
using System.Threading.Channels;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// One BOSH session (XEP-0124) carrying one c2s stream (XEP-0206): the payloads of the client's
/// requests, in rid order, are written into a plain XMPP stream that an ordinary
/// <c>ClientConnection</c> reads, and what that connection writes is cut into elements and
/// handed out on the requests the session holds. So a BOSH session is a c2s session like any
/// other (SASL, bind, XEP-0198, MAM, filters).
/// </summary>
/// <remarks>
/// All state is under one lock: requests arrive on Kestrel's threads, output on the pump's.
/// Nothing here runs on the loop.
/// </remarks>
internal sealed class BoshSession
{
    // Requests whose payloads wait for the stream beneath: more than this is a flood (§11 overactivity).
    private const int MaxQueuedPayloads = 16;

    private readonly object _gate = new();
    private readonly Pipe _toServer = new();
    private readonly Pipe _fromServer = new();
    private readonly Channel<string> _payloads = Channel.CreateBounded<string>(MaxQueuedPayloads);
    private readonly List<Held> _held = [];
    private readonly List<string> _pending = [];
    private readonly Dictionary<long, string> _responses = [];
    private readonly BoshSettings _settings;
    private readonly TimeProvider _time;
    private readonly Logger _log;
    private long _rid;
    private Deferred? _deferred;
    private bool _created;
    private bool _ended;
    // Once a request was told the session ended, the sid is no longer valid (§17.4).
    private bool _endDelivered;
    private string? _endCondition;
    private long _idleSince;

    public BoshSession(string sid, string host, long rid, TimeSpan wait, string? lang, BoshSettings settings, TimeProvider time)
    {
        Sid = sid;
        Host = host;
        Wait = wait;
        _rid = rid - 1;
        _settings = settings;
        _time = time;
        _log = Logger.For("bosh" + sid[..8]);
        _idleSince = time.GetTimestamp();
        Lang = lang;
    }

    public string Sid { get; }

    public string Host { get; }

    public TimeSpan Wait { get; }

    private string? Lang { get; }

    /// <summary>A request the session holds until it has something to say or its wait is over.</summary>
    internal sealed class Held(long rid)
    {
        public long Rid { get; } = rid;

        public TaskCompletionSource<string> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record Deferred(Held Request, string Payload, bool Restart, bool Terminate)
    {
        /// <summary>Its HTTP request was answered (empty) while it waited: it must not be held again.</summary>
        public bool Released { get; set; }
    }

    /// <summary>What to do with one request.</summary>
    internal abstract record Outcome
    {
        public sealed record Waiting(Held Request) : Outcome;

        public sealed record Answer(string Body) : Outcome;
    }

    /// <summary>Starts the c2s connection over this session's stream and the pumps around it.</summary>
    public Task RunAsync(Func<Stream, Task> runConnection, Action<BoshSession> ended)
    {
        var stream = new DuplexStream(_toServer.Reader.AsStream(), _fromServer.Writer.AsStream());
        var connection = runConnection(stream);
        var input = PumpInputAsync();
        var output = PumpOutputAsync();
        return Task.WhenAll(connection, input, output).ContinueWith(_ => ended(this), TaskScheduler.Default);
    }

    /// <summary>The session's first request (XEP-0124 §7.1): opens the stream, held until the features come.</summary>
    public Held Create(long rid)
    {
        var held = new Held(rid);
        lock (_gate)
        {
            _rid = rid;
            _held.Add(held);
        }
        Queue(StreamHeader());
        return held;
    }

    /// <summary>A later request: its rid decides (XEP-0124 §14), then its payload goes to the stream.</summary>
    public Outcome Accept(long rid, string payload, bool restart, bool terminate)
    {
        lock (_gate)
        {
            if (_ended) return new Outcome.Answer(EndBodyLocked());
            var diff = rid - _rid;
            if (diff == 1)
            {
                var held = HoldLocked(rid);
                ProcessLocked(rid, payload, restart, terminate);
                if (_deferred is { } d && d.Request.Rid == _rid + 1)
                {
                    _deferred = null;
                    if (!d.Released) _held.Add(d.Request);
                    ProcessLocked(d.Request.Rid, d.Payload, d.Restart, d.Terminate);
                }
                FlushLocked();
                return new Outcome.Waiting(held);
            }
            if (diff == 2 && _deferred is null)
            {
                // One request overtook the one before it (two HTTP connections): its payload is
                // processed once the missing one arrives (§14.3), and only then may it carry an
                // answer: answered earlier, it would let the client send a rid beyond the window.
                var deferred = new Held(rid);
                _deferred = new Deferred(deferred, payload, restart, terminate);
                return new Outcome.Waiting(deferred);
            }
            if (diff <= 0 && _responses.TryGetValue(rid, out var previous))
            {
                // §14.3: a repeated rid gets the very response it got before; its payload was handled.
                _log.Debug($"rid {rid} repeated: resending its response");
                return new Outcome.Answer(previous);
            }
            if (diff == 0)
                return new Outcome.Waiting(HoldLocked(rid)); // the current request again, still unanswered
            _log.Info($"rid {rid} out of the window (last {_rid}): terminating");
            EndLocked("item-not-found");
            _endDelivered = true;
            Queue(null);
            return new Outcome.Answer(BoshBody.Terminate("item-not-found"));
        }
    }

    /// <summary>The request's wait is over (§10) or its client went away: it gets what there is.</summary>
    public string? Release(Held held, bool clientGone)
    {
        lock (_gate)
        {
            if (_deferred is { } deferred && deferred.Request == held)
            {
                deferred.Released = true;
                // The request it waits for never came within 'wait': an empty answer, the payload
                // still waiting for its turn (not cached: the rid was not processed).
                if (clientGone) return null;
                return BoshBody.Response([], []);
            }
            if (!_held.Remove(held)) return null;
            if (_held.Count == 0) _idleSince = _time.GetTimestamp();
            if (clientGone) return null;
            return AnswerLocked(held.Rid, []);
        }
    }

    /// <summary>True when the client has held no request for longer than bosh_max_inactivity (§7.1 'inactivity').</summary>
    public bool Inactive()
    {
        lock (_gate)
            return _held.Count == 0 && _time.GetElapsedTime(_idleSince) > _settings.MaxInactivity;
    }

    /// <summary>Ends the stream beneath as a dropped connection would (XEP-0198 sessions hibernate).</summary>
    public void Expire(string why)
    {
        lock (_gate)
        {
            if (_ended) return;
            _log.Info($"BOSH session {Sid} ends: {why}");
            EndLocked(null);
        }
        Queue(null);
    }

    private Held HoldLocked(long rid)
    {
        var held = new Held(rid);
        _held.Add(held);
        return held;
    }

    private void ProcessLocked(long rid, string payload, bool restart, bool terminate)
    {
        _rid = rid;
        if (restart) Queue(StreamHeader()); // XEP-0206 §5: a new stream, as after SASL on TCP
        if (payload.Length > 0) Queue(payload);
        if (terminate)
        {
            Queue("</stream:stream>");
            Queue(null);
        }
    }

    // The payload goes to the input pump in order; null ends the input (as a closed socket does).
    private void Queue(string? text)
    {
        if (text is null)
        {
            _payloads.Writer.TryComplete();
            return;
        }
        if (!_payloads.Writer.TryWrite(text))
        {
            lock (_gate)
            {
                if (_ended) return; // the stream beneath is gone: nothing more goes to it
            }
            _log.Warn($"BOSH session {Sid}: too many requests waiting for the stream; terminating");
            lock (_gate) EndLocked("policy-violation");
            _payloads.Writer.TryComplete();
        }
    }

    private string StreamHeader() =>
        $"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{System.Security.SecurityElement.Escape(Host)}' version='1.0'"
        + (Lang is null ? "" : $" xml:lang='{System.Security.SecurityElement.Escape(Lang)}'") + ">";

    private async Task PumpInputAsync()
    {
        var writer = _toServer.Writer;
        try
        {
            await foreach (var text in _payloads.Reader.ReadAllAsync())
            {
                var flushed = await writer.WriteAsync(Encoding.UTF8.GetBytes(text));
                if (flushed.IsCompleted) break;
            }
        }
        finally
        {
            await writer.CompleteAsync();
        }
    }

    private async Task PumpOutputAsync()
    {
        var splitter = new Http.StreamUnitSplitter();
        var reader = _fromServer.Reader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync();
                foreach (var segment in read.Buffer) splitter.Feed(segment.Span);
                reader.AdvanceTo(read.Buffer.End);
                lock (_gate)
                {
                    while (splitter.TryTake(out var kind, out var unit))
                    {
                        if (kind == Http.StreamUnitSplitter.Kind.End)
                        {
                            if (!_ended) EndLocked(_pending.Any(e => e.StartsWith("<stream:error", StringComparison.Ordinal)) ? "remote-stream-error" : null);
                        }
                        else if (kind == Http.StreamUnitSplitter.Kind.Element)
                        {
                            _pending.Add(Http.XmppFraming.Standalone(unit));
                        }
                    }
                    // A stream error is followed by the stream's end: both go out together, in a
                    // terminate body with remote-stream-error (XEP-0206 §7), never as payload.
                    if (_ended || !_pending.Any(e => e.StartsWith("<stream:error", StringComparison.Ordinal))) FlushLocked();
                }
                if (read.IsCompleted) break;
            }
        }
        finally
        {
            await reader.CompleteAsync();
            lock (_gate)
            {
                if (!_ended) EndLocked(null);
                FlushLocked();
            }
            _payloads.Writer.TryComplete();
        }
    }

    private void EndLocked(string? condition)
    {
        _ended = true;
        _endCondition = condition;
    }

    // Hands out what is pending on the oldest held request, and answers requests held beyond
    // 'hold' at once (XEP-0124 §10), so the client always has a request to send on.
    private void FlushLocked()
    {
        if (_ended)
        {
            if (_held.Count == 0 && _deferred is null) return;
            var end = EndBodyLocked();
            foreach (var h in _held) h.Answer.TrySetResult(end); // every held request learns it
            _deferred?.Request.Answer.TrySetResult(end);
            _held.Clear();
            return;
        }
        if (!_created && _pending.Count == 0) return; // the creation response waits for the features
        while (_held.Count > 0 && (_pending.Count > 0 || _held.Count > BoshSettings.Hold))
        {
            var oldest = _held[0];
            _held.RemoveAt(0);
            oldest.Answer.TrySetResult(AnswerLocked(oldest.Rid, _pending));
            _pending.Clear();
        }
        if (_held.Count == 0) _idleSince = _time.GetTimestamp();
    }

    private string AnswerLocked(long rid, IReadOnlyList<string> elements)
    {
        var attributes = new List<KeyValuePair<string, string>>();
        if (!_created)
        {
            _created = true;
            // XEP-0124 §7.1 and XEP-0206 §4: the session creation response's attributes.
            attributes.AddRange([
                new("sid", Sid), new("wait", ((long)Wait.TotalSeconds).ToString()),
                new("requests", BoshSettings.Requests.ToString()), new("hold", BoshSettings.Hold.ToString()),
                new("inactivity", ((long)_settings.MaxInactivity.TotalSeconds).ToString()),
                new("polling", ((long)_settings.MaxPolling.TotalSeconds).ToString()),
                new("ver", "1.11"), new("from", Host), new("authid", Sid),
                new("xmlns:xmpp", BoshBody.XBoshNamespace), new("xmpp:version", "1.0"), new("xmpp:restartlogic", "true"),
            ]);
        }
        // §9.1: tell the client the highest rid processed when it is beyond this request's.
        if (_rid > rid) attributes.Add(new("ack", _rid.ToString()));
        var body = BoshBody.Response(attributes, elements);
        _responses[rid] = body;
        _responses.Remove(rid - BoshSettings.Requests - 1);
        return body;
    }

    private string EndBodyLocked()
    {
        if (_endDelivered) return BoshBody.Terminate("item-not-found");
        _endDelivered = true;
        var body = BoshBody.Terminate(_endCondition, _pending);
        _pending.Clear();
        return body;
    }
}
