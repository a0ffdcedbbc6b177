using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LuaXmpp.Logging;
using LuaXmpp.Loop;

namespace LuaXmpp.Network;

/// <summary>
/// Accepts client connections on one endpoint (a c2s port or a direct-TLS port) and runs each
/// as a <see cref="ClientConnection"/> with a stream handler from the factory.
/// </summary>
public sealed class ConnectionListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ServerLoop _loop;
    private readonly ConnectionOptions _options;
    private readonly Func<ClientConnection, IStreamHandler> _handlerFactory;
    private readonly ConcurrentDictionary<ClientConnection, Task> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Logger _log;
    private Task? _acceptLoop;

    public ConnectionListener(IPEndPoint endpoint, ServerLoop loop, ConnectionOptions options, Func<ClientConnection, IStreamHandler> handlerFactory)
    {
        _loop = loop;
        _options = options;
        _handlerFactory = handlerFactory;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // No ReuseAddress: on Linux .NET maps it to SO_REUSEPORT as well, which lets a second
        // server bind the same port and take half the connections. Bind fails instead (the host
        // names the port); .NET already sets SO_REUSEADDR alone, so TIME_WAIT does not block a restart.
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6) _socket.DualMode = false;
        _socket.Bind(endpoint);
        _socket.Listen(512);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _log = Logger.For((options.DirectTls ? "c2s_direct_tls:" : "c2s:") + LocalEndPoint);
    }

    public IPEndPoint LocalEndPoint { get; }

    public int ConnectionCount => _connections.Count;

    public void Start()
    {
        _acceptLoop = AcceptLoopAsync();
        _log.Info($"Listening on {LocalEndPoint}{(_options.DirectTls ? " (direct TLS)" : "")}");
    }

    /// <summary>Stops accepting; open connections are left to the caller to close.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
    }

    /// <summary>Waits (bounded) for every connection's run to finish, after they were asked to close.</summary>
    public Task DrainAsync(TimeSpan timeout) => Task.WhenAny(Task.WhenAll(_connections.Values), Task.Delay(timeout));

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                _log.Warn("Accept failed: " + ex.Message);
                continue;
            }
            client.NoDelay = true;
            var connection = new ClientConnection(client, _loop, _options);
            _connections[connection] = Task.Run(() => RunConnectionAsync(connection));
        }
    }

    private async Task RunConnectionAsync(ClientConnection connection)
    {
        try
        {
            await connection.RunAsync(_handlerFactory).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log.Error("Connection ended with an unexpected error", ex);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }
}
