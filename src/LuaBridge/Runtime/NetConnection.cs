using System.Net.Sockets;
using System.Threading.Channels;
using LuaXmpp.Loop;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>What a <see cref="NetConnection"/> reports, always on the loop thread.</summary>
internal interface INetEvents
{
    void Incoming(NetConnection connection, byte[] data);

    void Drained(NetConnection connection);

    /// <summary>The connection ended: <paramref name="error"/> is null after our own close.</summary>
    void Disconnected(NetConnection connection, string? error);
}

/// <summary>
/// A TCP connection driven by Lua's net.server (the interface objects of Prosody's
/// net/server_epoll). Socket reads and writes run on the thread pool; every result is posted to
/// the loop. Reading is credit based: the reader takes the next chunk only after the loop has
/// delivered the previous one and the connection is not paused, so <c>conn:pause()</c> stops
/// delivery at once and a paused peer is back-pressured by TCP, as in Prosody.
/// Loop-owned state: <see cref="_paused"/>, <see cref="_reading"/>, <see cref="_held"/>, <see cref="_state"/>.
/// </summary>
internal sealed class NetConnection
{
    private enum State { Open, Flushing, Closed }

    private readonly Socket _socket;
    private readonly ServerLoop _loop;
    private readonly INetEvents _events;
    private readonly SemaphoreSlim _mayRead = new(0, 1);
    private readonly Channel<byte[]> _writes = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private long _queued;
    private bool _paused;
    private bool _reading;
    private bool _heldChunk;
    private byte[]? _held; // a chunk (or, when empty, the peer's close) that arrived while paused
    private State _state = State.Open;

    public NetConnection(long id, Socket socket, ServerLoop loop, INetEvents events, int readSize)
    {
        Id = id;
        _socket = socket;
        _loop = loop;
        _events = events;
        ReadSize = readSize;
        socket.NoDelay = true;
    }

    public long Id { get; }

    public int ReadSize { get; set; }

    public bool IsClosed => _state == State.Closed;

    /// <summary>Bytes written by Lua and not yet on the wire.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Starts reading and writing (loop thread); the first chunk is delivered after the caller's onconnect.</summary>
    public void Start()
    {
        _ = Task.Run(ReadLoopAsync);
        _ = Task.Run(WriteLoopAsync);
        AllowRead();
    }

    public void Pause() => _paused = true;

    public void Resume()
    {
        if (!_paused || _state != State.Open) return;
        _paused = false;
        if (_heldChunk)
        {
            var chunk = _held!;
            _held = null;
            _heldChunk = false;
            _reading = true; // the posted delivery clears it
            _loop.Post(() => Deliver(chunk));
        }
        else AllowRead();
    }

    /// <summary>Queues bytes for the peer (loop thread); false once the connection is closing.</summary>
    public bool Write(byte[] data)
    {
        if (_state != State.Open || data.Length == 0) return _state == State.Open;
        Interlocked.Add(ref _queued, data.Length);
        return _writes.Writer.TryWrite(data);
    }

    /// <summary>
    /// Closes (loop thread). With unsent bytes it closes once they are written and reports
    /// Disconnected(null) then; returns true when closed now (the caller reports it).
    /// </summary>
    public bool Close()
    {
        if (_state != State.Open) return _state == State.Closed;
        if (Queued > 0)
        {
            _state = State.Flushing;
            _writes.Writer.TryComplete();
            return false;
        }
        Abort();
        return true;
    }

    /// <summary>
    /// Gives the socket up to another owner (loop thread, from inside this connection's
    /// onincoming, when the reader waits for its next credit and nothing is being written).
    /// </summary>
    public Socket? Detach()
    {
        if (_state != State.Open || Queued > 0) return null;
        _state = State.Closed;
        _writes.Writer.TryComplete();
        _stop.Cancel();
        return _socket;
    }

    /// <summary>Ends the socket at once, unsent bytes dropped (loop thread or shutdown).</summary>
    public void Abort()
    {
        if (_state == State.Closed) return;
        _state = State.Closed;
        _writes.Writer.TryComplete();
        _stop.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // already gone
        }
        _socket.Dispose();
    }

    private void AllowRead()
    {
        if (_reading || _paused || _state != State.Open) return;
        _reading = true;
        _mayRead.Release();
    }

    private void Deliver(byte[] chunk)
    {
        _reading = false;
        if (_state == State.Closed) return;
        if (_paused)
        {
            _held = chunk;
            _heldChunk = true;
            return;
        }
        if (chunk.Length == 0)
        {
            Abort();
            _events.Disconnected(this, "closed");
            return;
        }
        _events.Incoming(this, chunk);
        AllowRead();
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await _mayRead.WaitAsync(_stop.Token).ConfigureAwait(false);
                int size = Math.Clamp(ReadSize, 1, buffer.Length);
                int n = await _socket.ReceiveAsync(buffer.AsMemory(0, size), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                var chunk = buffer.AsSpan(0, n).ToArray();
                _loop.Post(() => Deliver(chunk));
                if (n == 0) return;
            }
        }
        catch (Exception ex)
        {
            // Socket errors, disposal and cancellation above all; whatever it was, the loop hears of it.
            if (!_stop.IsCancellationRequested) _loop.Post(() => Failed(ex.Message));
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var data in _writes.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                int sent = 0;
                while (sent < data.Length)
                    sent += await _socket.SendAsync(data.AsMemory(sent), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (Interlocked.Add(ref _queued, -data.Length) == 0) _loop.Post(OnDrained);
            }
        }
        catch (Exception ex)
        {
            // Socket errors, disposal and cancellation above all; whatever it was, the loop hears of it.
            if (!_stop.IsCancellationRequested) _loop.Post(() => Failed(ex.Message));
        }
    }

    private void OnDrained()
    {
        if (_state == State.Flushing)
        {
            Abort();
            _events.Disconnected(this, null);
        }
        else if (_state == State.Open && Queued == 0) _events.Drained(this);
    }

    private void Failed(string message)
    {
        if (_state == State.Closed) return;
        Abort();
        _events.Disconnected(this, message);
    }
}
