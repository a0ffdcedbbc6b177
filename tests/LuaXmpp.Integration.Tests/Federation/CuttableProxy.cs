using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.Tests.Federation;

/// <summary>
/// A loopback TCP relay in front of a server's s2s port that can cut its connections in the
/// middle of a stream, as a failing network would: once armed, it closes every relayed
/// connection (both sides) when the bytes relayed towards the server pass a threshold.
/// </summary>
/// <remarks>
/// Unlike Reliability's CuttingProxy, which plans one random cut per connection when it opens,
/// this one cuts a connection that is already established, at a point the test chooses when
/// it chooses: the s2s route is opened first, then cut in the middle of a burst.
/// </remarks>
public sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(Socket Client, Socket Server)> _pairs = new();
    private readonly object _lock = new();
    private long _forwarded;
    private long _cutAt = long.MaxValue;
    private Task? _accepting;

    public CuttableProxy()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>Where connections are relayed to; set before the first one arrives.</summary>
    public int TargetPort { get; set; }

    public int Cuts { get; private set; }

    public int Connections { get; private set; }

    public void Start() => _accepting = AcceptAsync();

    /// <summary>Cuts every relayed connection once <paramref name="bytes"/> more bytes went towards the server.</summary>
    public void CutAfter(long bytes) => Interlocked.Exchange(ref _cutAt, Interlocked.Read(ref _forwarded) + bytes);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, TargetPort, _stop.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }
            lock (_lock)
            {
                _pairs.Add((client, server));
                Connections++;
            }
            _ = PumpAsync(client, server, countTowardsServer: true);
            _ = PumpAsync(server, client, countTowardsServer: false);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool countTowardsServer)
    {
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0) break;
                // Relayed in small pieces, so a cut can fall in the middle of a stanza.
                for (int offset = 0; offset < n; offset += 512)
                {
                    int chunk = Math.Min(512, n - offset);
                    await to.SendAsync(buffer.AsMemory(offset, chunk), SocketFlags.None, _stop.Token);
                    if (countTowardsServer && Interlocked.Add(ref _forwarded, chunk) >= Interlocked.Read(ref _cutAt))
                    {
                        Interlocked.Exchange(ref _cutAt, long.MaxValue);
                        CutAll();
                        return;
                    }
                }
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private void CutAll()
    {
        lock (_lock)
        {
            foreach (var (client, server) in _pairs)
            {
                client.LingerState = new LingerOption(true, 0); // a reset, as when a route fails
                client.Dispose();
                server.LingerState = new LingerOption(true, 0);
                server.Dispose();
            }
            _pairs.Clear();
            Cuts++;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_accepting is not null) await _accepting;
        lock (_lock)
        {
            foreach (var (client, server) in _pairs)
            {
                client.Dispose();
                server.Dispose();
            }
        }
    }
}
