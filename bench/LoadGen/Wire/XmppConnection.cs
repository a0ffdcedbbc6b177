using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace LuaXmpp.Bench.LoadGen.Wire;

/// <summary>
/// One client TCP connection to 127.0.0.1 read and written through System.IO.Pipelines.
/// One reader (the owner of <see cref="ReadAsync"/>); writers may be concurrent (a send loop and
/// a receive loop answering XEP-0198 ack requests), so writes are serialized by a lock.
/// </summary>
public sealed class XmppConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Queue<Frame> _pending = new();
    private readonly List<Frame> _scratch = [];
    private Stream _stream;
    private PipeReader _reader;
    private PipeWriter _writer;

    private XmppConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 16384, leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public bool Secure { get; private set; }

    public static async Task<XmppConnection> ConnectAsync(int port, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancel);
            return new XmppConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>RFC 6120 §5.4.3.3: after &lt;proceed/&gt; the TLS handshake starts on the same socket.
    /// Certificates are not checked: the servers under test use throwaway self-signed ones.</summary>
    public async Task StartTlsAsync(string host, CancellationToken cancel)
    {
        var tls = new SslStream(new NetworkStream(_socket, ownsSocket: false), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, cancel);
        _stream = tls;
        _reader = PipeReader.Create(tls, new StreamPipeReaderOptions(bufferSize: 16384, leaveOpen: true));
        _writer = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
        _pending.Clear();
        Secure = true;
    }

    public async ValueTask SendAsync(string xml, CancellationToken cancel = default)
    {
        await _writeLock.WaitAsync(cancel);
        try
        {
            var span = _writer.GetSpan(Encoding.UTF8.GetMaxByteCount(xml.Length));
            var written = Encoding.UTF8.GetBytes(xml, span);
            _writer.Advance(written);
            await _writer.FlushAsync(cancel);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes prefix + decimal number + suffix without building a string: the chat
    /// send path runs tens of thousands of times a second and must stay cheap.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> prefix, long number, ReadOnlyMemory<byte> suffix, CancellationToken cancel = default)
    {
        await _writeLock.WaitAsync(cancel);
        try
        {
            var span = _writer.GetSpan(prefix.Length + 20 + suffix.Length);
            prefix.Span.CopyTo(span);
            System.Buffers.Text.Utf8Formatter.TryFormat(number, span[prefix.Length..], out var digits);
            suffix.Span.CopyTo(span[(prefix.Length + digits)..]);
            _writer.Advance(prefix.Length + digits + suffix.Length);
            await _writer.FlushAsync(cancel);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next frame; throws <see cref="EndOfStreamException"/> when the peer closed.</summary>
    public async ValueTask<Frame> ReadAsync(CancellationToken cancel)
    {
        while (_pending.Count == 0)
        {
            var result = await _reader.ReadAsync(cancel);
            var buffer = result.Buffer;
            var consumed = ScanInto(buffer);
            _reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
            if (_pending.Count == 0 && (result.IsCompleted || result.IsCanceled))
            {
                throw new EndOfStreamException("server closed the connection");
            }
        }

        return _pending.Dequeue();
    }

    /// <summary>Reads until an element named <paramref name="name"/> arrives (skipping others,
    /// which the caller has declared uninteresting through <paramref name="skip"/>).</summary>
    public async ValueTask<Frame> ExpectAsync(Func<Frame, bool> match, CancellationToken cancel, Action<Frame>? skip = null)
    {
        while (true)
        {
            var frame = await ReadAsync(cancel);
            if (frame.Kind == FrameKind.StreamEnd) throw new EndOfStreamException("stream closed: waiting for a frame");
            if (frame.Kind == FrameKind.Element && frame.Name == "stream:error") throw new IOException("stream error: " + frame.Xml);
            if (match(frame)) return frame;
            skip?.Invoke(frame);
        }
    }

    private long ScanInto(ReadOnlySequence<byte> buffer)
    {
        _scratch.Clear();
        long consumed;
        if (buffer.IsSingleSegment)
        {
            consumed = FrameScanner.Scan(buffer.FirstSpan, _scratch);
        }
        else
        {
            // Rare (a frame straddling two pipe segments): one copy keeps the scanner span-only.
            var copy = ArrayPool<byte>.Shared.Rent((int)buffer.Length);
            buffer.CopyTo(copy);
            consumed = FrameScanner.Scan(copy.AsSpan(0, (int)buffer.Length), _scratch);
            ArrayPool<byte>.Shared.Return(copy);
        }

        foreach (var frame in _scratch) _pending.Enqueue(frame);
        return consumed;
    }

    /// <summary>Cuts the TCP connection with a reset (SO_LINGER 0): what a phone losing its
    /// network looks like to the server, with no &lt;/stream:stream&gt; and no FIN handshake.</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _reader.CompleteAsync();
            await _writer.CompleteAsync();
            await _stream.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            _socket.Dispose();
        }
    }
}
