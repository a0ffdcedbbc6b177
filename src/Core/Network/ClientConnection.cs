using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Network;

/// <summary>
/// One client TCP connection: a read loop that parses the stream off the loop thread and hands
/// each event to the <see cref="IStreamHandler"/> on the loop, and a writer that serializes queued
/// elements into the socket. Owns the socket, the TLS stream and both pipes.
/// </summary>
/// <remarks>
/// The read loop waits for the handler to finish with one element before parsing the next, so
/// a client is paused while its stanza is processed (Prosody's runner does the same) and input
/// order is kept; a read's elements are handled in loop turns of up to 100 µs (DispatchOnLoopAsync). STARTTLS swaps the transport under both pipes: the reader drops whatever
/// plaintext followed &lt;starttls/&gt; (RFC 6120 §5.3.3 injection), and the writer flushes
/// &lt;proceed/&gt; before the handshake starts.
/// </remarks>
public sealed partial class ClientConnection : IClientConnection
{
    private const string StreamHeaderForErrors =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    // How long one loop turn goes on handling a connection's pipelined events (DispatchOnLoopAsync):
    // a few routed messages, one expensive stanza.
    private static readonly TimeSpan TurnBudget = TimeSpan.FromMicroseconds(100);

    // The writer flushes after this many bytes, so the pipe's buffer holds at most about this
    // much (plus one stanza) beyond what the socket already took.
    private const int WriteBatchBytes = 64 * 1024;

    // How long and how much a closed connection still reads (and discards) from its client.
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(2);
    private const long DrainLimitBytes = 4 * 1024 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    // Null for a connection over another transport's stream (WebSocket): no socket to half-close.
    private readonly Socket? _socket;
    private readonly ServerLoop _loop;
    private readonly ConnectionOptions _options;
    private readonly Channel<object> _outgoing = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly XmlStreamParser _parser;
    private readonly Logger _log;
    private readonly CancellationTokenSource _closing = new();
    // Ends the read loop (and so reports the disconnect) without ending the writer's grace period.
    private readonly CancellationTokenSource _reading;
    private bool _drainInput;
    private readonly SendBudget _budget;
    private Stream _stream;
    private IStreamHandler? _handler;
    private int _queued;
    private int _closed;
    // Set once, when the client was found not to be reading.
    private int _overBudget;
    private int _authenticated;
    private IDisposable? _authTimer;

    public ClientConnection(Socket socket, ServerLoop loop, ConnectionOptions options)
    {
        _socket = socket;
        _loop = loop;
        _options = options;
        _budget = new SendBudget(options.MaxSendBufferBytes, options.Output);
        _reading = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        _stream = new NetworkStream(socket, ownsSocket: true);
        _parser = new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: options.UnauthenticatedStanzaLimit));
        RemoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        _log = Logger.For("conn:" + RemoteAddress);
    }

    /// <summary>
    /// A c2s connection over a stream another transport provides (RFC 7395 WebSocket framing is
    /// translated to a plain XMPP stream beneath it): TLS, if any, is that transport's.
    /// </summary>
    public ClientConnection(Stream stream, string remoteAddress, bool secure, ServerLoop loop, ConnectionOptions options)
    {
        _loop = loop;
        _options = options;
        _budget = new SendBudget(options.MaxSendBufferBytes, options.Output);
        _reading = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        _stream = stream;
        _parser = new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: options.UnauthenticatedStanzaLimit));
        RemoteAddress = remoteAddress;
        IsSecure = secure;
        _log = Logger.For("conn:" + RemoteAddress);
    }

    public string RemoteAddress { get; }

    public bool IsSecure { get; private set; }

    /// <summary>The certificate the peer presented in the TLS handshake, if any (s2s: verified by the stream handler).</summary>
    public X509Certificate2? RemoteCertificate { get; private set; }

    /// <summary>The host the client asked for, used to pick the certificate for STARTTLS.</summary>
    public string? ServerName { get; set; }

    /// <summary>Set once our stream header went out, so a stream error does not need one first.</summary>
    public bool HeaderSent { get; set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>What <see cref="Send"/> checks: output goes nowhere once closed or the peer is gone.</summary>
    public bool DropsOutput => IsClosed || PeerGone;

    /// <summary>True once SASL succeeded (<see cref="MarkAuthenticated"/>).</summary>
    public bool IsAuthenticated => Volatile.Read(ref _authenticated) != 0;

    /// <summary>Bytes queued for this client that its socket has not taken yet.</summary>
    public long QueuedBytes => _budget.Queued;

    /// <summary>The most bytes ever queued at once for this client.</summary>
    public long PeakQueuedBytes => _budget.Peak;

    /// <summary>True once the connection was closed because the client stopped reading.</summary>
    public bool ClosedForNotReading => Volatile.Read(ref _overBudget) != 0;

    /// <summary>Runs the connection until it closes. The handler is created once the connection exists.</summary>
    public async Task RunAsync(Func<ClientConnection, IStreamHandler> createHandler)
    {
        string reason = "connection closed";
        var handlerCreated = false;
        Task? writer = null;
        try
        {
            if (_options.DirectTls && !await UpgradeTlsAsync().ConfigureAwait(false)) return;
            _handler = await _loop.InvokeAsync(() => createHandler(this)).ConfigureAwait(false);
            handlerCreated = true;
            writer = WriteLoopAsync(PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true)));
            if (_options.UnauthenticatedTimeout is { } timeout) _authTimer = _loop.AddTimer(timeout, OnAuthTimeout);
            reason = await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            MarkPeerGone();
            reason = ClosedForNotReading ? "client is not reading" : ex.Message;
        }
        catch (Exception ex)
        {
            _log.Error("Connection failed", ex);
            reason = "internal error";
            Close(StreamErrorCondition.InternalServerError);
        }
        finally
        {
            _authTimer?.Dispose();
            if (handlerCreated)
            {
                var handler = _handler!;
                // Deferred lane: a thousand connections reset at once are processed in slices
                // between other clients' stanzas, not all ahead of them (issue 16, item 7).
                await _loop.InvokeDeferredAsync(() => handler.OnDisconnectedAsync(reason)).ConfigureAwait(false);
            }
            Close();
            if (writer is not null) await writer.ConfigureAwait(false);
            EndOutputBounds();
            await DrainInputAsync().ConfigureAwait(false);
            await DisposeTransportAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Called by the stream handler once SASL succeeded: lifts the pre-auth limits.</summary>
    public void MarkAuthenticated(int maxStanzaBytes, string? account = null)
    {
        if (account is not null) _budget.JoinAccount(account);
        _parser.MaxStanzaBytes = maxStanzaBytes;
        if (Interlocked.Exchange(ref _authenticated, 1) == 0) _options.Limits?.Authenticated(RemoteAddress);
        _authTimer?.Dispose();
        _authTimer = null;
    }

    /// <summary>
    /// Serializes the element now, on the caller's thread (the loop), and queues the bytes. The
    /// element stays the loop's: modules may change a stanza after it was delivered (Prosody's
    /// modules do, e.g. adding a stanza-id on the way to the archive), so the writer must never
    /// read an element the loop can still touch.
    /// </summary>
    public void Send(XmlElement element)
    {
        if (DropsOutput) return;
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        scratch.ResetWrittenCount();
        XmlElementWriter.Write(scratch, element, Namespaces.Client);
        Enqueue(scratch.WrittenSpan.ToArray());
        // Do not let one huge stanza keep a huge scratch buffer alive on the loop thread.
        if (scratch.Capacity > 64 * 1024) t_scratch = null;
    }

    /// <summary>The bytes go to the writer as they are: what <see cref="Send"/> would have made of
    /// the element they hold, without parsing it back into one.</summary>
    public void SendSerialized(byte[] xml)
    {
        if (DropsOutput) return;
        Enqueue(xml);
    }

    /// <summary>
    /// Completes once everything queued before this call has been handed to the socket, or the
    /// connection closed. Bytes held by <see cref="PauseWrites"/> are not waited for. The task
    /// completes on the writer's thread: continuations must only post to the loop.
    /// </summary>
    public Task WhenWritten()
    {
        if (IsClosed) return Task.CompletedTask;
        var marker = new TaskCompletionSource();
        return QueueNow(marker) ? marker.Task : Task.CompletedTask;
    }

    public void SendRaw(string text)
    {
        if (IsClosed || PeerGone) return;
        Enqueue(Encoding.UTF8.GetBytes(text));
    }

    public void Close(StreamErrorCondition? error = null, string? text = null)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        ReleaseHeldForClose();
        if (error is { } condition)
        {
            _log.Info($"Closing stream with error {condition.ToElementName()}{(text is null ? "" : ": " + text)}");
            if (!HeaderSent) _outgoing.Writer.TryWrite(StreamHeaderForErrors);
            _outgoing.Writer.TryWrite(BuildStreamError(condition, text));
        }
        _outgoing.Writer.TryWrite("</stream:stream>");
        CompleteOutput();
        // A client that stopped reading must not keep the socket alive: give the writer a bounded time.
        _closing.CancelAfter(TimeSpan.FromSeconds(5));
    }

    public static XmlElement BuildStreamError(StreamErrorCondition condition, string? text)
    {
        var error = new XmlElement("error", Namespaces.Streams);
        error.AddChild(new XmlElement(condition.ToElementName(), Namespaces.StreamErrors));
        if (text is not null) error.AddChild(new XmlElement("text", Namespaces.StreamErrors)).AddText(text);
        return error;
    }

    // Every byte handed to the writer is counted until the socket takes it (stanzas are already
    // serialized here, so the count is exact); past the budget the client is not reading.
    private void Enqueue(byte[] bytes)
    {
        if (IsClosed) return;
        var items = Interlocked.Increment(ref _queued);
        if (items > _options.MaxQueuedItems)
        {
            Interlocked.Decrement(ref _queued);
            StopForNotReading(_budget.Queued, items);
            return;
        }
        if (!_budget.TryReserve(bytes.Length, out var total, out var over))
        {
            Interlocked.Decrement(ref _queued);
            StopForNotReading(total, items, over);
            return;
        }
        if (!TryHold(bytes) && !QueueAtTurnEnd(bytes))
        {
            // Closed meanwhile (Close on another thread): the bytes will never be written.
            _budget.Release(bytes.Length);
            Interlocked.Decrement(ref _queued);
        }
    }

    // Once, however many stanzas follow: queue nothing more and close. The session is told at
    // once (the read loop stops), so it ends, or a resumable XEP-0198 session hibernates with its
    // unacknowledged stanzas, instead of taking stanzas into a closed connection for Close's
    // grace period. The writer keeps that grace period: a client that was only behind (a burst,
    // such as a resume re-sending its queue) still gets what is queued, then the stream error.
    private void StopForNotReading(long bytes, long items, string? over = "connection") =>
        StopForNotReading(over is null or "connection"
            ? $"{bytes} bytes would be queued unwritten (limit {_budget.Limit}; {items} elements)"
            : $"{bytes} bytes queued unwritten and its {over}'s output bound is reached ({OutputBoundOf(over)} bytes)");

    private void StopForNotReading(string why)
    {
        if (Interlocked.Exchange(ref _overBudget, 1) != 0) return;
        _log.Warn($"Client is not reading: {why}; disconnecting");
        Close(StreamErrorCondition.PolicyViolation, "Too much unread data");
        // A timer, so the cancellation callbacks run off this (the loop's) thread.
        _reading.CancelAfter(TimeSpan.FromMilliseconds(1));
    }

    private TimeSpan? OnAuthTimeout()
    {
        _log.Info("Connection still not authenticated after c2s_timeout, closing it");
        Close(StreamErrorCondition.ConnectionTimeout, "Authentication took too long");
        return null;
    }

    // Zero-byte reads on the plain socket: an idle connection waits for input without a buffer,
    // so thousands of idle (or flooding, never-speaking) connections hold no read buffers; one is
    // rented when bytes arrive. Not over TLS: SslStream may already hold the client's next bytes
    // (read together with the handshake's last flight), and a zero-byte read would then wait for
    // more from the socket that never come.
    private PipeReader CreateReader() =>
        PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true, useZeroByteReads: _stream is NetworkStream));

    private async Task<string> ReadLoopAsync()
    {
        var reader = CreateReader();
        // Bytes of the buffer already seen by an earlier read (left unconsumed), so that only
        // new bytes are paced.
        long carried = 0;
        try
        {
            while (!IsClosed)
            {
                var result = await reader.ReadAsync(_reading.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                long fresh = buffer.Length - carried;
                var batch = Parse(buffer);
                var action = await DispatchAsync(batch.Events).ConfigureAwait(false);
                if (batch.Error is { } ex && action is StreamAction.Continue or StreamAction.Restart)
                {
                    _log.Info($"Stream error from client: {ex.Condition.ToElementName()}: {ex.Message}");
                    Close(ex.Condition, ex.Text);
                    return "stream error: " + ex.Condition.ToElementName();
                }
                buffer = buffer.Slice(batch.Consumed);
                if (action == StreamAction.Close) return "stream closed";
                if (action == StreamAction.StartTls)
                {
                    // Drop anything the client pipelined after <starttls/>: it was sent in the clear.
                    reader.AdvanceTo(buffer.End);
                    await reader.CompleteAsync().ConfigureAwait(false);
                    if (!await SwitchWriterToTlsAsync().ConfigureAwait(false)) return "TLS handshake failed";
                    reader = CreateReader();
                    carried = 0;
                    continue;
                }
                // After a stream restart, bytes the client pipelined are still unparsed: look at them again at once.
                carried = buffer.Length;
                reader.AdvanceTo(buffer.Start, batch.StoppedEarly ? buffer.Start : buffer.End);
                if (result.IsCompleted && !batch.StoppedEarly) return "connection closed by client";
                await PaceReadAsync(fresh).ConfigureAwait(false);
            }
            return "closed";
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    // Parses every complete event in the buffer, stopping after anything that may change the
    // stream under the parser (TLS, SASL restart) or closes it. A violation ends the batch: the
    // events before it are still handled, then the stream error is sent.
    private ParseBatch Parse(ReadOnlySequence<byte> buffer)
    {
        var events = new List<StreamEvent>();
        var remaining = buffer;
        try
        {
            while (_parser.TryRead(ref remaining, out var ev))
            {
                events.Add(ev!);
                bool changesStream = ev is StreamEndEvent || (ev is StreamElementEvent { Element: var el } && MayChangeStream(el));
                if (changesStream) return new ParseBatch(events, remaining.Start, remaining.Length > 0, null);
            }
        }
        catch (XmlStreamException ex)
        {
            return new ParseBatch(events, remaining.Start, false, ex);
        }
        return new ParseBatch(events, remaining.Start, false, null);
    }

    private sealed record ParseBatch(List<StreamEvent> Events, SequencePosition Consumed, bool StoppedEarly, XmlStreamException? Error);

    private static bool MayChangeStream(XmlElement el) =>
        el.Namespace is Namespaces.Tls or Namespaces.Sasl;

    // The events of one read go to the loop together, one hand-off and one completion for all of
    // them (not a thread-pool hop each way per stanza). There they are handled in order, each once
    // the last was handled (waits included), in turns of at most TurnBudget: past it the rest
    // continues at the back of the loop's queue, so one connection's large pipelined write is
    // handled between everyone else's work, never in one long turn (issue 16, item 8; RELIABILITY.md
    // "CPU floods": turns of up to 32 stanzas or 1 ms doubled a bystander's ping p99, one stanza per
    // turn did not). The stanzas one turn sends to a client leave in one write (ClientConnection.Output).
    private Task<StreamAction> DispatchAsync(List<StreamEvent> events) =>
        events.Count == 0 ? Task.FromResult(StreamAction.Continue) : _loop.InvokeAsync(() => DispatchOnLoopAsync(events)).Unwrap();

    private async Task<StreamAction> DispatchOnLoopAsync(List<StreamEvent> events)
    {
        var handler = _handler!;
        long turnStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < events.Count; i++)
        {
            if (i > 0 && Stopwatch.GetElapsedTime(turnStart) >= TurnBudget)
            {
                // On the loop, Task.Yield posts the rest to the loop's SynchronizationContext: the back of its queue.
                await Task.Yield();
                turnStart = Stopwatch.GetTimestamp();
            }
            Task<StreamAction> handled;
            switch (events[i])
            {
                case StreamHeaderEvent header:
                    handled = handler.OnStreamHeaderAsync(header);
                    break;
                case StreamElementEvent { Element: var element }:
                    handled = handler.OnElementAsync(element);
                    break;
                default:
                    await handler.OnStreamEndAsync();
                    Close();
                    return StreamAction.Close;
            }
            if (!handled.IsCompleted)
            {
                // A handler waited: the rest continues on the loop when it is done, in a new turn.
                await handled;
                turnStart = Stopwatch.GetTimestamp();
            }
            var action = await handled;
            if (action == StreamAction.Restart) _parser.Reset();
            else if (action != StreamAction.Continue) return action;
            if (IsClosed) return StreamAction.Close;
        }
        return StreamAction.Continue;
    }

    private async Task WriteLoopAsync(PipeWriter writer)
    {
        var reader = _outgoing.Reader;
        long unflushed = 0;
        // WhenWritten markers read in this batch: completed once its flush returned.
        List<TaskCompletionSource>? written = null;
        bool writeFailed = false;
        try
        {
            while (await WaitForOutputAsync(reader).ConfigureAwait(false))
            {
                // Flushing every WriteBatchBytes keeps the pipe's own buffer small; the bytes in
                // it still count against the budget until the socket took them.
                while (unflushed < WriteBatchBytes && reader.TryRead(out var item))
                {
                    switch (item)
                    {
                        case byte[] bytes:
                            Interlocked.Decrement(ref _queued);
                            writer.Write(bytes);
                            unflushed += bytes.Length;
                            break;
                        // Only Close queues these (stream error and close tag): never counted, never dropped.
                        case XmlElement element:
                            XmlElementWriter.Write(writer, element, Namespaces.Client);
                            break;
                        case string text:
                            var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
                            writer.Advance(Encoding.UTF8.GetBytes(text, span));
                            break;
                        case TaskCompletionSource marker:
                            (written ??= []).Add(marker);
                            break;
                        case TlsSwitch tls:
                            await writer.FlushAsync(_closing.Token).ConfigureAwait(false);
                            _budget.Release(unflushed);
                            unflushed = 0;
                            await writer.CompleteAsync().ConfigureAwait(false);
                            tls.Flushed.TrySetResult();
                            writer = await tls.NewWriter.Task.ConfigureAwait(false);
                            continue;
                    }
                }
                // FlushAsync returns once the stream (the socket, under TLS too) took every byte.
                ArmSendDeadline();
                var flush = await writer.FlushAsync(_closing.Token).ConfigureAwait(false);
                DisarmSendDeadline();
                _budget.Release(unflushed);
                unflushed = 0;
                CompleteMarkers(ref written);
                if (flush.IsCompleted) break;
                SignalDrainIfWanted(reader);
            }
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            _log.Debug("Write failed: " + ex.Message);
            writeFailed = true;
            Close();
        }
        finally
        {
            // A write given up on (the client took nothing within the grace period) would block
            // the final flush for good: shut the socket first so that flush fails at once.
            bool gaveUp = _closing.IsCancellationRequested;
            if (gaveUp) ShutdownSocket(SocketShutdown.Both);
            try
            {
                // Completing flushes what is buffered; a client that reset the connection makes that fail.
                await writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransportError(ex))
            {
                // Said once: after a failed write, the final flush fails the same way.
                if (!writeFailed) _log.Debug("Final flush failed: " + ex.Message);
            }
            // Whatever is still queued goes nowhere now. Our side is done (FIN after the close
            // tag); the read loop stops, and RunAsync drains what the client still sends.
            ShutdownSocket(gaveUp ? SocketShutdown.Both : SocketShutdown.Send);
            _drainInput = !gaveUp;
            _closing.Cancel();
            CompleteMarkers(ref written);
            DropQueued(unflushed);
        }
    }

    private static void CompleteMarkers(ref List<TaskCompletionSource>? written)
    {
        if (written is null) return;
        foreach (var marker in written) marker.TrySetResult();
        written = null;
    }

    private void ShutdownSocket(SocketShutdown how)
    {
        if (_socket is null) return;
        try
        {
            _socket.Shutdown(how);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
        }
    }

    // RFC 6120 §4.4: after our closing tag, wait (bounded) for the client to close its side.
    // Closing a socket with unread input makes the kernel send a reset, and a reset makes the
    // client's kernel discard what it has not read yet: often our stream error, when the client
    // had pipelined more stanzas behind the one that ended the stream. Reading its input to the
    // end first lets the error and the close tag arrive.
    private async Task DrainInputAsync()
    {
        // A peer that reset the connection reads nothing more: no drain (in a mass reset, one
        // failing receive less per connection on the thread pool, ahead of other clients' I/O).
        if (!_drainInput || _socket is null || PeerGone) return;
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var timeout = new CancellationTokenSource(DrainTime);
            long drained = 0;
            while (drained < DrainLimitBytes)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0) return;
                drained += n;
            }
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Lets go of what was never written at once, rather than when the connection is collected.
    private void DropQueued(long unflushed)
    {
        _outgoing.Writer.TryComplete();
        while (_outgoing.Reader.TryRead(out var item))
        {
            if (item is TaskCompletionSource marker) marker.TrySetResult();
            if (item is not byte[] bytes) continue;
            Interlocked.Decrement(ref _queued);
            unflushed += bytes.Length;
        }
        _budget.Release(unflushed);
    }

    private async Task<bool> SwitchWriterToTlsAsync()
    {
        var tls = new TlsSwitch();
        QueueNow(tls);
        await tls.Flushed.Task.ConfigureAwait(false);
        var ok = await UpgradeTlsAsync().ConfigureAwait(false);
        tls.NewWriter.TrySetResult(PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true)));
        if (ok) _parser.Reset();
        if (ok && _handler is ITlsAwareStreamHandler aware) await _loop.InvokeAsync(aware.OnTlsEstablished).ConfigureAwait(false);
        return ok;
    }

    private async Task<bool> UpgradeTlsAsync()
    {
        // The peer's certificate is taken as offered and judged by the stream handler (s2s, XEP-0178).
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            if (_options.OutgoingTlsTarget is { } target) await ssl.AuthenticateAsClientAsync(ClientTlsOptions(target), timeout.Token).ConfigureAwait(false);
            else await ssl.AuthenticateAsServerAsync(ServerTlsOptions(), timeout.Token).ConfigureAwait(false);
            if (ssl.RemoteCertificate is { } peer) RemoteCertificate = peer as X509Certificate2 ?? new X509Certificate2(peer);
        }
        catch (Exception ex) when (IsTransportError(ex) || ex is AuthenticationException)
        {
            _log.Info("TLS handshake failed: " + ex.Message);
            Interlocked.Exchange(ref _closed, 1);
            CompleteOutput();
            return false;
        }
        _stream = ssl;
        IsSecure = true;
        _log.Info($"TLS established ({ssl.SslProtocol}, {ssl.NegotiatedCipherSuite})");
        return true;
    }

    private SslServerAuthenticationOptions ServerTlsOptions() => new()
    {
        // A null certificate fails the handshake, which is the right outcome for a host we cannot serve.
        ServerCertificateSelectionCallback = (_, sni) => _options.CertificateFor(sni ?? ServerName)!,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateRequired = _options.RequestPeerCertificate,
    };

    // Our certificate is always offered, whatever issuers the peer lists: it decides (XEP-0178).
    private SslClientAuthenticationOptions ClientTlsOptions(string target)
    {
        var own = _options.CertificateFor(ServerName);
        return new SslClientAuthenticationOptions
        {
            TargetHost = target,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            LocalCertificateSelectionCallback = own is null ? null : (_, _, _, _, _) => own,
            ClientCertificates = own is null ? null : new X509CertificateCollection { own },
        };
    }

    private async Task DisposeTransportAsync()
    {
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
        }
        _socket?.Dispose();
        _reading.Dispose();
        _closing.Dispose();
    }

    private static bool IsTransportError(Exception ex) =>
        ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;

    private sealed class TlsSwitch
    {
        public TaskCompletionSource Flushed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<PipeWriter> NewWriter { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
