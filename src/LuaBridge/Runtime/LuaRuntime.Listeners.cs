using System.Net;
using System.Net.Sockets;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.LuaBridge.Libraries;
using LuaXmpp.Logging;

namespace LuaXmpp.LuaBridge.Runtime;

// Listening and outgoing TCP sockets for Lua's net.server (Lua/net/server.lua), which
// core.portmanager and modules such as mod_proxy65 and mod_admin_telnet open. Accepts, reads,
// writes and connects run on the thread pool; accepted connections, data, drains and
// disconnects reach Lua on the loop through the handler net.server registers (net_handler).
public sealed partial class LuaRuntime : INetEvents
{
    private readonly Dictionary<long, NetConnection> _netConnections = new();
    private readonly Dictionary<long, Socket> _netServers = new();
    private readonly Logger _netLog = Logger.For("net.server");
    private int _netHandler = LuaRef.NoRef;
    private long _nextNetId;

    private void RegisterListenerNatives(NativeTable n)
    {
        n.Add("net_handler", NetHandler);
        n.Add("net_listen", NetListen);
        n.Add("net_connect", NetConnect);
        n.Add("net_write", NetWrite);
        n.Add("net_close", NetClose);
        n.Add("net_control", NetControl);
        n.Add("net_handoff", NetHandoff);
    }

    /// <summary>The native c2s listener's adoption of a connection whose first bytes were read
    /// here (set by the host; null without a plain c2s port).</summary>
    public Action<Socket, ReadOnlyMemory<byte>>? AdoptC2s { get; set; }

    // net_handoff(id, "c2s", bytes_read): the connection leaves Lua for the native c2s listener
    // (mod_net_multiplex recognised a client stream) → true | nil, message
    private int NetHandoff(Lua lua)
    {
        if (lua.OptString(2) != "c2s" || AdoptC2s is not { } adopt) return NativeBoundary.Fail(lua, "no native c2s listener to hand the connection to");
        if (!_netConnections.TryGetValue(lua.ToInteger(1), out var connection) || connection.Detach() is not { } socket)
            return NativeBoundary.Fail(lua, "connection is closing");
        _netConnections.Remove(connection.Id);
        adopt(socket, NativeBoundary.OptBytes(lua, 3) ?? []);
        lua.PushBoolean(true);
        return 1;
    }

    // net_handler(fn): fn(event, id, ...) receives "accept", "connect", "incoming", "drain", "disconnect".
    private int NetHandler(Lua lua)
    {
        if (lua.Type(1) != LuaType.Function) throw new ArgumentException("function expected");
        if (_netHandler != LuaRef.NoRef) lua.Unref(LuaRegistry.Index, _netHandler);
        lua.PushCopy(1);
        _netHandler = lua.PopRef();
        return 0;
    }

    // net_listen(address, port, read_size) → server id | nil, message
    private int NetListen(Lua lua)
    {
        var text = lua.OptString(1) ?? "*";
        long port = lua.ToInteger(2);
        if (port is < 0 or > 65535) return NativeBoundary.Fail(lua, "invalid port");
        var address = text switch
        {
            "*" => IPAddress.Any,
            "::" => IPAddress.IPv6Any,
            _ when IPAddress.TryParse(text, out var parsed) => parsed,
            _ => null,
        };
        if (address is null) return NativeBoundary.Fail(lua, "invalid address " + text);
        int readSize = ReadSizeOf(lua, 3);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any)) socket.DualMode = false;
            socket.Bind(new IPEndPoint(address, (int)port));
            socket.Listen(128);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            return NativeBoundary.Fail(lua, ex.SocketErrorCode == SocketError.AddressAlreadyInUse ? "address already in use" : ex.Message);
        }
        long id = ++_nextNetId;
        _netServers[id] = socket;
        _ = Task.Run(() => AcceptLoopAsync(id, socket, readSize));
        lua.PushInteger(id);
        lua.PushInteger(((IPEndPoint)socket.LocalEndPoint!).Port);
        return 2;
    }

    private static int ReadSizeOf(Lua lua, int index) =>
        lua.IsInteger(index) && lua.ToInteger(index) is > 0 and <= 65536 ? (int)lua.ToInteger(index) : 8192;

    private async Task AcceptLoopAsync(long serverId, Socket listener, int readSize)
    {
        var retry = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync().ConfigureAwait(false);
                retry = TimeSpan.FromMilliseconds(50);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors and the like: wait and retry rather than spin.
                _netLog.Warn($"Accepting a connection failed: {ex.Message}");
                await Task.Delay(retry).ConfigureAwait(false);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                continue;
            }
            _server.Loop.Post(() => Accepted(serverId, client, readSize));
        }
    }

    private void Accepted(long serverId, Socket client, int readSize)
    {
        if (_disposed || !_netServers.ContainsKey(serverId) || _netHandler == LuaRef.NoRef)
        {
            client.Dispose();
            return;
        }
        var connection = new NetConnection(++_nextNetId, client, _server.Loop, this, readSize);
        _netConnections[connection.Id] = connection;
        var remote = client.RemoteEndPoint as IPEndPoint;
        var local = client.LocalEndPoint as IPEndPoint;
        CallNetHandler("accept", connection.Id, lua =>
        {
            lua.PushInteger(serverId);
            PushEndPoint(lua, remote);
            PushEndPoint(lua, local);
            return 5;
        });
        if (!connection.IsClosed) connection.Start();
    }

    private static void PushEndPoint(Lua lua, IPEndPoint? endPoint)
    {
        if (endPoint is null)
        {
            lua.PushNil();
            lua.PushNil();
            return;
        }
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        lua.PushString(address.ToString());
        lua.PushInteger(endPoint.Port);
    }

    // net_connect(host, port, read_size) → id; "connect" or "disconnect" follows on the loop.
    private int NetConnect(Lua lua)
    {
        var host = lua.OptString(1) ?? throw new ArgumentException("address expected");
        long port = lua.ToInteger(2);
        if (port is <= 0 or > 65535) return NativeBoundary.Fail(lua, "invalid port");
        int readSize = ReadSizeOf(lua, 3);
        long id = ++_nextNetId;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var connection = new NetConnection(id, socket, _server.Loop, this, readSize);
        _netConnections[id] = connection;
        _ = ConnectAsync(connection, socket, host, (int)port);
        lua.PushInteger(id);
        return 1;
    }

    private async Task ConnectAsync(NetConnection connection, Socket socket, string host, int port)
    {
        string? error = null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)); // Prosody's connect_timeout
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            error = ex is OperationCanceledException ? "connection timed out" : ex.Message;
        }
        _server.Loop.Post(() =>
        {
            if (_disposed || connection.IsClosed) return;
            if (error is not null)
            {
                _netLog.Info($"Connecting to {host}:{port} failed: {error}");
                connection.Abort();
                Disconnected(connection, error);
                return;
            }
            var remote = socket.RemoteEndPoint as IPEndPoint;
            var local = socket.LocalEndPoint as IPEndPoint;
            CallNetHandler("connect", connection.Id, lua =>
            {
                PushEndPoint(lua, remote);
                PushEndPoint(lua, local);
                return 4;
            });
            if (!connection.IsClosed) connection.Start();
        });
    }

    // net_write(id, bytes) → bytes queued in all | nil, "closed"
    private int NetWrite(Lua lua)
    {
        if (!_netConnections.TryGetValue(lua.ToInteger(1), out var connection)
            || !connection.Write(NativeBoundary.OptBytes(lua, 2) ?? []))
            return NativeBoundary.Fail(lua, "closed");
        lua.PushInteger(connection.Queued);
        return 1;
    }

    // net_close(id, "server" | "now" | nil) → true when closed now; false when it closes after its
    // unsent bytes (a "disconnect" event follows).
    private int NetClose(Lua lua)
    {
        long id = lua.ToInteger(1);
        var how = lua.OptString(2);
        if (how == "server")
        {
            if (_netServers.Remove(id, out var listener)) listener.Dispose();
            lua.PushBoolean(true);
            return 1;
        }
        if (!_netConnections.TryGetValue(id, out var connection))
        {
            lua.PushBoolean(true);
            return 1;
        }
        bool now;
        if (how == "now")
        {
            connection.Abort();
            now = true;
        }
        else now = connection.Close();
        if (now) _netConnections.Remove(id);
        lua.PushBoolean(now);
        return 1;
    }

    // net_control(id, "pause" | "resume" | "read_size", n)
    private int NetControl(Lua lua)
    {
        if (!_netConnections.TryGetValue(lua.ToInteger(1), out var connection)) return 0;
        switch (lua.OptString(2))
        {
            case "pause": connection.Pause(); break;
            case "resume": connection.Resume(); break;
            case "read_size": connection.ReadSize = ReadSizeOf(lua, 3); break;
            default: throw new ArgumentException("unknown connection operation");
        }
        return 0;
    }

    void INetEvents.Incoming(NetConnection connection, byte[] data) =>
        CallNetHandler("incoming", connection.Id, lua =>
        {
            lua.PushBuffer(data);
            return 1;
        });

    void INetEvents.Drained(NetConnection connection) => CallNetHandler("drain", connection.Id, _ => 0);

    void INetEvents.Disconnected(NetConnection connection, string? error) => Disconnected(connection, error);

    private void Disconnected(NetConnection connection, string? error)
    {
        _netConnections.Remove(connection.Id);
        CallNetHandler("disconnect", connection.Id, lua =>
        {
            if (error is null) lua.PushNil();
            else NativeBoundary.PushUtf8(lua, error);
            return 1;
        });
    }

    private void CallNetHandler(string kind, long id, Func<Lua, int> pushArgs)
    {
        if (_disposed || _netHandler == LuaRef.NoRef) return;
        using var scope = LuaStack.Enter(_main, 32);
        var lua = scope.Lua;
        lua.PushRef(_call);
        lua.PushRef(_netHandler);
        lua.PushString(kind);
        lua.PushInteger(id);
        int count = pushArgs(lua);
        if (scope.PCall(3 + count, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
            _netLog.Error($"net.server {kind} failed: {lua.ToString(-1, false)}");
    }

    /// <summary>Closes every listening socket and connection Lua opened (runtime disposal).</summary>
    private void CloseNetSockets()
    {
        foreach (var listener in _netServers.Values) listener.Dispose();
        _netServers.Clear();
        foreach (var connection in _netConnections.Values) connection.Abort();
        _netConnections.Clear();
    }
}
