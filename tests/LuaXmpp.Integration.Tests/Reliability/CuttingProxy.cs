using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A TCP proxy in the test process (127.0.0.1, a free port) between clients and the real
/// server that cuts each connection once, at a random byte offset in one direction: with a
/// reset (RST) or a close (FIN), anywhere, inside a &lt;message/&gt;, or inside an
/// &lt;a/&gt; / &lt;r/&gt;. It forwards exactly the bytes before the cut point, then closes both
/// sides, as a network that drops does: neither end sees the rest.
/// </summary>
/// <remarks>
/// With a reset, bytes the proxy wrote just before the cut may still be discarded by the kernel,
/// and a close of a socket with unread input turns into a reset (Linux): the offset is where the
/// stream stops at the latest. Cutting applies only while <see cref="Cutting"/> is set and until
/// <see cref="CutLimit"/> cuts happened, so a test can log in first and drain at the end.
/// </remarks>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _serverPort;
    private readonly Random _random;
    private readonly int _maxOffset;
    private readonly ConcurrentDictionary<Link, bool> _links = new();
    private readonly ConcurrentDictionary<string, int> _cutsByKind = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _cuts;

    /// <param name="serverPort">the server's c2s port (plain TCP, so the proxy sees the XML).</param>
    /// <param name="seed">for the cut plans.</param>
    /// <param name="maxOffset">cut offsets are drawn from [0, maxOffset) bytes of the chosen direction.</param>
    public CuttingProxy(int serverPort, int seed, int maxOffset)
    {
        _serverPort = serverPort;
        _random = new Random(seed);
        _maxOffset = maxOffset;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1024);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>Whether connections are cut now (off while logging in and while draining).</summary>
    public bool Cutting { get; set; }

    /// <summary>No more cuts once this many happened.</summary>
    public int CutLimit { get; set; } = int.MaxValue;

    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Cuts by "direction/kind/target", for the report.</summary>
    public IReadOnlyDictionary<string, int> CutsByKind => _cutsByKind;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => RunLinkAsync(client));
        }
    }

    private async Task RunLinkAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _serverPort);
        }
        catch (SocketException)
        {
            client.Close(0);
            server.Dispose();
            return;
        }

        var link = new Link(this, client, server, NextPlan());
        _links[link] = true;
        try
        {
            await Task.WhenAll(link.PumpAsync(Direction.ClientToServer), link.PumpAsync(Direction.ServerToClient));
        }
        finally
        {
            _links.TryRemove(link, out _);
        }
    }

    private Plan NextPlan()
    {
        lock (_random)
        {
            var direction = _random.Next(2) == 0 ? Direction.ClientToServer : Direction.ServerToClient;
            var kind = _random.Next(2) == 0 ? CutKind.Reset : CutKind.Fin;
            var target = (Target)_random.Next(3);
            return new Plan(direction, kind, target, _random.Next(_maxOffset), _random.Next(1 << 20));
        }
    }

    /// <summary>Claims one cut against the limit; false when cutting is off or the limit is reached.</summary>
    private bool TryClaimCut(Plan plan)
    {
        if (!Cutting) return false;
        if (Interlocked.Increment(ref _cuts) > CutLimit)
        {
            Interlocked.Decrement(ref _cuts);
            return false;
        }

        _cutsByKind.AddOrUpdate($"{plan.Direction}/{plan.Kind}/{plan.Target}", 1, (_, n) => n + 1);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        foreach (var link in _links.Keys) link.Cut(CutKind.Reset);
        _stop.Dispose();
    }

    private enum Direction
    {
        ClientToServer,
        ServerToClient,
    }

    private enum CutKind
    {
        Reset,
        Fin,
    }

    private enum Target
    {
        Anywhere,
        InsideMessage,
        InsideAckOrRequest,
    }

    /// <summary>Where one connection is cut: after <paramref name="Offset"/> bytes, or at the first target after it.</summary>
    private sealed record Plan(Direction Direction, CutKind Kind, Target Target, int Offset, int Salt);

    /// <summary>One proxied connection: two pumps and the plan that ends it.</summary>
    private sealed class Link(CuttingProxy proxy, Socket client, Socket server, Plan plan)
    {
        private readonly object _gate = new();
        private long _planned; // bytes seen so far in the plan's direction
        private bool _cut;

        public async Task PumpAsync(Direction direction)
        {
            var (from, to) = direction == Direction.ClientToServer ? (client, server) : (server, client);
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                    if (n == 0) break;
                    int forward = n;
                    bool cutNow = false;
                    if (direction == plan.Direction)
                    {
                        lock (_gate)
                        {
                            int? at = CutPoint(buffer.AsSpan(0, n));
                            _planned += n;
                            if (at is { } offset && proxy.TryClaimCut(plan))
                            {
                                forward = offset;
                                cutNow = true;
                            }
                        }
                    }

                    if (forward > 0) await SendAllAsync(to, buffer.AsMemory(0, forward));
                    if (cutNow)
                    {
                        Cut(plan.Kind);
                        return;
                    }
                }

                // A clean end on one side (a FIN from the server or client): pass it on.
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            CloseIfBothDone();
        }

        private int _done;

        private void CloseIfBothDone()
        {
            if (Interlocked.Increment(ref _done) < 2) return;
            client.Dispose();
            server.Dispose();
        }

        /// <summary>The offset in this chunk to cut at, if the plan's point falls in it.</summary>
        private int? CutPoint(ReadOnlySpan<byte> chunk)
        {
            if (_cut || _planned + chunk.Length <= plan.Offset) return null;
            int from = (int)Math.Max(0, plan.Offset - _planned);
            switch (plan.Target)
            {
                case Target.Anywhere:
                    return from;
                case Target.InsideMessage:
                    return Inside(chunk, from, "<message"u8, "</message>"u8);
                default:
                    int a = IndexFrom(chunk, from, "<a "u8);
                    int r = IndexFrom(chunk, from, "<r "u8);
                    int r2 = IndexFrom(chunk, from, "<r/>"u8);
                    int first = new[] { a, r, r2 }.Where(i => i >= 0).DefaultIfEmpty(-1).Min();
                    if (first < 0) return null;
                    int end = IndexFrom(chunk, first, "/>"u8);
                    int length = (end < 0 ? chunk.Length : end + 2) - first;
                    return first + 1 + plan.Salt % Math.Max(1, length - 1);
            }
        }

        /// <summary>A point strictly inside the first element starting with <paramref name="open"/>, if the chunk has one.</summary>
        private int? Inside(ReadOnlySpan<byte> chunk, int from, ReadOnlySpan<byte> open, ReadOnlySpan<byte> close)
        {
            int start = IndexFrom(chunk, from, open);
            if (start < 0) return null;
            int end = IndexFrom(chunk, start, close);
            int length = (end < 0 ? chunk.Length : end + close.Length) - start;
            return start + 1 + plan.Salt % Math.Max(1, length - 1);
        }

        private static int IndexFrom(ReadOnlySpan<byte> chunk, int from, ReadOnlySpan<byte> what)
        {
            int i = chunk[from..].IndexOf(what);
            return i < 0 ? -1 : from + i;
        }

        private static async Task SendAllAsync(Socket to, ReadOnlyMemory<byte> bytes)
        {
            while (bytes.Length > 0)
            {
                int sent = await to.SendAsync(bytes, SocketFlags.None);
                bytes = bytes[sent..];
            }
        }

        /// <summary>Ends both sides at once: a reset (linger 0) or an orderly FIN.</summary>
        public void Cut(CutKind kind)
        {
            lock (_gate)
            {
                if (_cut) return;
                _cut = true;
            }

            foreach (var socket in new[] { client, server })
            {
                try
                {
                    if (kind == CutKind.Reset) socket.LingerState = new LingerOption(true, 0);
                    else socket.Shutdown(SocketShutdown.Both);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
