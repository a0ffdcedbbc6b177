using System.Net;
using System.Net.Sockets;
using LuaXmpp.Network;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.S2s;

/// <summary>
/// The outgoing stream from one of our hosts to a remote domain, from the first stanza routed
/// there until the connection ends (Prosody's hosts[from].s2sout[to]). Stanzas wait in the
/// queue while the connection is resolved, opened, secured and authenticated, then go out in
/// order; if it cannot be set up within s2s_timeout they bounce (RFC 6120 §8.3.3:
/// remote-server-not-found when the domain cannot be reached, remote-server-timeout when it
/// did not complete in time). Loop-thread only, except the connect step.
/// </summary>
internal sealed class OutgoingRoute
{
    private static readonly TimeSpan ConnectAttemptTimeout = TimeSpan.FromSeconds(10);

    // Stanzas held while the connection is set up: beyond this, a sender flooding an unreachable
    // domain gets resource-constraint bounces instead of growing our memory until s2s_timeout.
    private const int MaxQueued = 10_000;

    private readonly S2sService _service;
    private readonly List<XmlElement> _queue = new();
    private readonly List<XmlElement> _pendingVerifies = new();
    private readonly CancellationTokenSource _cancel = new();
    private IDisposable? _timer;
    private S2sStreamManagement? _sm;
    private bool _done;

    public OutgoingRoute(S2sService service, string from, string to)
    {
        _service = service;
        From = from;
        To = to;
    }

    public string From { get; }

    public string To { get; }

    public S2sSession? Session { get; private set; }

    /// <summary>Set when the remote server opened its stream (Prosody's had_stream).</summary>
    public bool HadStream { get; set; }

    /// <summary>Set once our db:result went out: db:verify may be sent before the stream is authenticated.</summary>
    public bool CanSendDialback { get; set; }

    public void Start()
    {
        _timer = _service.Loop.AddTimer(_service.Settings.Timeout, OnTimeout);
        _ = Task.Run(ConnectAsync);
    }

    /// <summary>XEP-0198 on this stream, once the connection exists.</summary>
    public S2sStreamManagement? StreamManagement => _sm;

    public void Send(XmlElement stanza)
    {
        // A closed connection whose end has not reached the loop yet: kept, and routed anew in OnClosed.
        if (Session is { Established: true } session && !session.Connection.IsClosed) Transmit(stanza);
        else if (_queue.Count < MaxQueued) _queue.Add(stanza);
        else _service.Bounce(From, [stanza], StanzaError.ResourceConstraint($"Too many stanzas waiting for the connection to {To}"));
    }

    private void Transmit(XmlElement stanza)
    {
        Session!.Connection.Send(stanza);
        _sm?.Sent(stanza);
    }

    /// <summary>XEP-0220 §2.3: db:verify goes out as soon as our own dialback has started.</summary>
    public void SendVerify(XmlElement verify)
    {
        if (Session is { } session && (CanSendDialback || session.Established)) session.Connection.Send(verify);
        else _pendingVerifies.Add(verify);
    }

    public void FlushVerifies()
    {
        if (Session is not { } session) return;
        foreach (var verify in _pendingVerifies) session.Connection.Send(verify);
        _pendingVerifies.Clear();
    }

    /// <param name="streamManagement">Enable XEP-0198 before the queue goes out, so every queued stanza is covered.</param>
    public void OnEstablished(bool streamManagement)
    {
        _timer?.Dispose();
        var session = Session!;
        FlushVerifies();
        if (streamManagement) _sm?.Enable();
        if (_queue.Count > 0) session.Log.Debug($"Sending {_queue.Count} queued stanzas to {To}");
        foreach (var stanza in _queue) Transmit(stanza);
        _queue.Clear();
    }

    /// <summary>
    /// The connection ended: an unfinished route bounces what it held; an established one hands
    /// what the peer did not acknowledge (XEP-0198) back to the service, to re-send or bounce.
    /// </summary>
    public void OnClosed(string reason)
    {
        if (Session is not { Established: true })
        {
            End(HadStream ? Timeout(reason) : NotFound(reason), reason);
            return;
        }
        var unsent = _queue.ToArray();
        _queue.Clear();
        End(null, reason);
        var unacked = _sm?.TakeUnacknowledged() ?? [];
        if (unacked.Count > 0) _service.Unacknowledged(this, unacked);
        // Never written, so never seen by the peer: a new connection takes them, in order.
        foreach (var stanza in unsent) _service.Route(From, To, stanza);
    }

    public void Fail(StanzaError error, string reason, StreamErrorCondition? streamError = null)
    {
        Session?.Connection.Close(streamError, streamError is null ? null : reason);
        End(error, reason);
    }

    private void End(StanzaError? bounce, string reason)
    {
        if (_done) return;
        _done = true;
        _timer?.Dispose();
        _cancel.Cancel();
        _service.RouteEnded(this, reason);
        if (bounce is not null && _queue.Count > 0) _service.Bounce(From, _queue, bounce);
        _queue.Clear();
        _pendingVerifies.Clear();
    }

    private TimeSpan? OnTimeout()
    {
        if (Session is { Established: true }) return null;
        _service.Log.Info($"s2s connection {From}->{To} not established within {_service.Settings.Timeout.TotalSeconds:0} s");
        Fail(Timeout("timed out"), "connection timed out", StreamErrorCondition.ConnectionTimeout);
        return null;
    }

    private static StanzaError NotFound(string reason) => StanzaError.RemoteServerNotFound("Server-to-server connection failed: " + reason);

    private static StanzaError Timeout(string reason) => new("wait", "remote-server-timeout", "Server-to-server connection failed: " + reason);

    private async Task ConnectAsync()
    {
        var token = _cancel.Token;
        string failure = "could not resolve " + To;
        try
        {
            var endpoints = await _service.Resolver.ResolveAsync(To, token).ConfigureAwait(false);
            foreach (var endpoint in endpoints)
            {
                if (token.IsCancellationRequested) return;
                var socket = await TryConnectAsync(endpoint.EndPoint, token).ConfigureAwait(false);
                if (socket is null)
                {
                    failure = $"could not connect to {To} at {endpoint.EndPoint}";
                    continue;
                }
                await RunAsync(socket, endpoint.DirectTls).ConfigureAwait(false);
                return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException)
        {
            return;
        }
        _service.Loop.Post(() => Fail(NotFound(failure), failure));
    }

    private static async Task<Socket?> TryConnectAsync(IPEndPoint endpoint, CancellationToken token)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            attempt.CancelAfter(ConnectAttemptTimeout);
            await socket.ConnectAsync(endpoint, attempt.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            token.ThrowIfCancellationRequested();
            return null;
        }
    }

    private async Task RunAsync(Socket socket, bool directTls)
    {
        ClientConnection connection;
        try
        {
            connection = new ClientConnection(socket, _service.Loop, _service.OutgoingOptions(To) with { DirectTls = directTls });
            // Our certificate is picked by our host's name, also for a handshake before any stream.
            connection.ServerName = From;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            _service.Loop.Post(() => Fail(NotFound(e.Message), e.Message));
            return;
        }
        await connection.RunAsync(c =>
        {
            if (_done)
            {
                c.Close();
                return new ClosedStreamHandler();
            }
            Session = new S2sSession(true, From, c) { ToHost = To };
            _sm = new S2sStreamManagement(_service.Loop, c, S2sStreamManagement.MaxQueueFor(_service.Config, From));
            return new S2sOutStreamHandler(_service, this, Session);
        }).ConfigureAwait(false);
    }

    /// <summary>For a connection that completed after its route had already given up.</summary>
    private sealed class ClosedStreamHandler : IStreamHandler
    {
        public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header) => Task.FromResult(StreamAction.Close);

        public Task<StreamAction> OnElementAsync(XmlElement element) => Task.FromResult(StreamAction.Close);

        public Task OnStreamEndAsync() => Task.CompletedTask;

        public Task OnDisconnectedAsync(string reason) => Task.CompletedTask;
    }
}
