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
    private readonly LogBurst _refusals;
    private Task? _acceptLoop;

    private static readonly byte[] RefusalPerIp = RefusalBytes("policy-violation");
    private static readonly byte[] RefusalBusy = RefusalBytes("resource-constraint");

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
        _log = Logger.For((options.Service ?? "c2s") + (options.DirectTls ? "_direct_tls:" : ":") + LocalEndPoint);
        _refusals = new LogBurst(loop.Time, TimeSpan.FromSeconds(10));
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

    // Accept failures (EMFILE/ENFILE when descriptors run out, ENOBUFS, ...) pause accepting for
    // a growing delay: retrying at once spins the CPU and, with one log line per failure, filled
    // the log and the memory until the process died. Connections already open keep being served;
    // clients that connect meanwhile wait in the kernel's backlog. Prosody pauses the same way
    // (net.server_epoll's accept_retry_interval).
    private static readonly TimeSpan FirstAcceptRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxAcceptRetry = TimeSpan.FromSeconds(1);

    private async Task AcceptLoopAsync()
    {
        var retry = FirstAcceptRetry;
        long failures = 0;
        var failingSince = DateTimeOffset.MinValue;
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
            catch (Exception ex)
            {
                if (failures++ == 0)
                {
                    failingSince = _loop.Time.GetUtcNow();
                    _log.Warn($"Accept failed: {ex.Message}; pausing accepting, retrying every {FirstAcceptRetry.TotalMilliseconds:0} ms up to {MaxAcceptRetry.TotalSeconds:0} s (not logged again until it works)");
                }
                if (!await PauseAsync(retry).ConfigureAwait(false)) break;
                retry = retry * 2 < MaxAcceptRetry ? retry * 2 : MaxAcceptRetry;
                continue;
            }
            if (failures > 0)
            {
                _log.Info($"Accepting again after {failures} failed accepts over {(_loop.Time.GetUtcNow() - failingSince).TotalSeconds:0.0} s");
                failures = 0;
                retry = FirstAcceptRetry;
            }
            Admit(client);
        }
    }

    private async Task<bool> PauseAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _loop.Time, _stop.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// A connection another listener accepted and read the start of (mod_net_multiplex saw a
    /// c2s stream header): it continues here as if accepted on this port, those bytes first.
    /// </summary>
    public void Adopt(Socket client, ReadOnlyMemory<byte> alreadyRead) => Admit(client, alreadyRead);

    private void Admit(Socket client, ReadOnlyMemory<byte>? alreadyRead = null)
    {
        var ip = (client.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        if (_options.Limits?.TryAdmit(ip) is { } limit)
        {
            Refuse(client, ip, limit);
            return;
        }
        ClientConnection connection;
        try
        {
            client.NoDelay = true;
            connection = alreadyRead is { } prefix
                ? new ClientConnection(new PrefixedStream(prefix, new NetworkStream(client, ownsSocket: true)), ip, secure: false, _loop, _options)
                : new ClientConnection(client, _loop, _options);
        }
        catch (Exception ex)
        {
            // The client reset the connection before we got to it.
            _log.Debug("Accepted connection failed at once: " + ex.Message);
            _options.Limits?.Released(ip, wasAuthenticated: false);
            client.Dispose();
            return;
        }
        _connections[connection] = Task.Run(() => RunConnectionAsync(connection, ip));
    }

    // RFC 6120 §4.9.3.18 policy-violation (§4.9.3.16 resource-constraint for the server-wide cap),
    // written without waiting: a fresh socket's send buffer is empty, and a client that does not
    // read it loses nothing it was promised. Direct TLS ports get no plaintext, only the close.
    private void Refuse(Socket client, string ip, string limit)
    {
        if (_refusals.ShouldLog(out var skipped))
        {
            _log.Warn($"Refusing connection from {ip}: {limit} reached ({_options.Limits!.Unauthenticated} unauthenticated now){(skipped > 0 ? $"; {skipped} more refused since the last such line" : "")}");
        }
        try
        {
            if (!_options.DirectTls)
            {
                client.Blocking = false;
                client.Send(limit is "max_unauthenticated" or "open files limit" ? RefusalBusy : RefusalPerIp, SocketFlags.None);
                client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        client.Dispose();
    }

    private static byte[] RefusalBytes(string condition) => System.Text.Encoding.UTF8.GetBytes(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
        $"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Too many connections</text></stream:error></stream:stream>");

    private async Task RunConnectionAsync(ClientConnection connection, string ip)
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
            _options.Limits?.Released(ip, connection.IsAuthenticated);
        }
    }
}
