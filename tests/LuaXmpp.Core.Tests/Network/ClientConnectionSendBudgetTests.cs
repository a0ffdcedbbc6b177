using System.Net;
using System.Net.Sockets;
using System.Text;
using LuaXmpp.Loop;
using LuaXmpp.Network;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Network;

/// <summary>
/// The byte budget of a real connection over loopback: a peer that does not read makes the
/// queue grow until the budget refuses, then the connection closes; one that reads drains it.
/// </summary>
public sealed class ClientConnectionSendBudgetTests : IAsyncLifetime
{
    // Small kernel buffers on both ends, so the socket takes little before our queue fills.
    private const int KernelBuffer = 4096;
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);

    private readonly ServerLoop _loop = new();
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public Task InitializeAsync()
    {
        _loop.Start();
        _listener.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _listener.Stop();
        await _loop.DisposeAsync();
    }

    private static XmlElement Message(int n, int bodyBytes) =>
        new XmlElement("message", Namespaces.Client).SetAttribute("id", "m" + n)
            .AddTextChild("body", new string('x', bodyBytes));

    // What the connection writes for the element: serialized in the stream's default namespace.
    private static int Serialized(XmlElement element) =>
        Encoding.UTF8.GetByteCount(XmlElementWriter.ToXmlString(element, Namespaces.Client));

    private async Task<(ClientConnection Connection, Socket Peer, Task Run, RecordingHandler Handler)> ConnectAsync(long budget)
    {
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = KernelBuffer };
        var accept = _listener.AcceptSocketAsync();
        await peer.ConnectAsync((IPEndPoint)_listener.LocalEndpoint);
        var socket = await accept;
        socket.SendBufferSize = KernelBuffer;
        var options = new ConnectionOptions { CertificateFor = _ => null, MaxSendBufferBytes = budget, UnauthenticatedTimeout = null };
        var connection = new ClientConnection(socket, _loop, options);
        var handler = new RecordingHandler();
        var run = Task.Run(() => connection.RunAsync(_ =>
        {
            handler.Created.TrySetResult();
            return handler;
        }));
        await handler.Created.Task.WaitAsync(Bounded);
        return (connection, peer, run, handler);
    }

    [Fact]
    public async Task Send_PeerNotReading_ClosesOncePastTheBudget()
    {
        const long Budget = 64 * 1024;
        var (connection, peer, run, handler) = await ConnectAsync(Budget);

        // 2 MB: far more than the budget and both small kernel buffers together.
        int sent = 0;
        for (; sent < 200 && !connection.IsClosed; sent++) connection.Send(Message(sent, 10_000));

        Assert.True(connection.IsClosed, $"still open after {sent} messages of 10 KB");
        Assert.True(connection.ClosedForNotReading);
        Assert.InRange(connection.PeakQueuedBytes, 1, Budget);
        peer.Dispose();
        await run.WaitAsync(Bounded);
        Assert.Equal(0, connection.QueuedBytes);
        Assert.Equal(1, handler.Disconnects);
    }

    [Fact]
    public async Task Send_PeerStaysConnectedWithoutReading_ConnectionStillEnds()
    {
        const long Budget = 64 * 1024;
        var (connection, peer, run, handler) = await ConnectAsync(Budget);

        // First let the writer block on the full socket (the peer got the first bytes), then go
        // past the budget: the close must not wait for the peer to read.
        for (int i = 0; i < 4; i++) connection.Send(Message(i, 10_000));
        var deadline = DateTime.UtcNow + Bounded;
        while (peer.Available == 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        for (int sent = 4; sent < 200 && !connection.IsClosed; sent++) connection.Send(Message(sent, 10_000));

        await run.WaitAsync(Bounded);
        Assert.True(peer.Available > 0, "the writer never wrote");
        Assert.True(connection.ClosedForNotReading);
        Assert.Equal(0, connection.QueuedBytes);
        Assert.Equal(1, handler.Disconnects);
        peer.Dispose();
    }

    [Fact]
    public async Task Send_UnderTheBudget_PeerNotReading_StaysOpen()
    {
        var (connection, peer, run, _) = await ConnectAsync(budget: 1024 * 1024);
        var message = Message(0, 1_000);
        int size = Serialized(message);

        for (int i = 0; i < 100; i++) connection.Send(message);

        Assert.False(connection.IsClosed);
        Assert.False(connection.ClosedForNotReading);
        Assert.InRange(connection.PeakQueuedBytes, size, 100 * size);
        connection.Close();
        peer.Dispose();
        await run.WaitAsync(Bounded);
    }

    [Fact]
    public async Task Send_PeerReadsEverything_QueueDrainsToZero()
    {
        var (connection, peer, run, _) = await ConnectAsync(budget: 1024 * 1024);
        var message = Message(0, 1_000);
        int size = Serialized(message);

        for (int i = 0; i < 100; i++) connection.Send(message);
        var received = 0;
        var buffer = new byte[16 * 1024];
        while (received < 100 * size) received += await peer.ReceiveAsync(buffer).WaitAsync(Bounded);
        var deadline = DateTime.UtcNow + Bounded;
        while (connection.QueuedBytes != 0 && DateTime.UtcNow < deadline) await Task.Delay(10);

        Assert.Equal(100 * size, received);
        Assert.Equal(0, connection.QueuedBytes);
        Assert.False(connection.IsClosed);
        connection.Close();
        peer.Dispose();
        await run.WaitAsync(Bounded);
    }

    private sealed class RecordingHandler : IStreamHandler
    {
        public TaskCompletionSource Created { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Disconnects { get; private set; }

        public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header) => Task.FromResult(StreamAction.Continue);

        public Task<StreamAction> OnElementAsync(XmlElement element) => Task.FromResult(StreamAction.Continue);

        public Task OnStreamEndAsync() => Task.CompletedTask;

        public string? Reason { get; private set; }

        public Task OnDisconnectedAsync(string reason)
        {
            Reason = reason;
            Disconnects++;
            return Task.CompletedTask;
        }
    }
}
