using System.Net.Sockets;

namespace LuaXmpp.Network;

// Output bounds beyond the connection's own budget (issue 16, item 7): the account's and the
// server's share (OutputBounds, counted in SendBudget), and a send deadline: a writer whose
// flush takes no bytes for ConnectionOptions.SendDeadline is a client that does not read, even
// when it stays under every byte bound. Either way the connection is closed as not reading, so a
// resumable XEP-0198 session hibernates with its unacknowledged stanzas (RFC 6120 §4.9.3.13
// policy-violation; Prosody's net.server_epoll has send_timeout, 180 s, for the second).
public sealed partial class ClientConnection
{
    private CancellationTokenSource? _sendDeadline;
    private int _peerGone;

    /// <summary>
    /// The read loop saw the transport fail (reset, broken pipe): nothing sent from now on can
    /// arrive, so it is not serialized or queued. When many connections are reset at once, their
    /// disconnects are processed one by one on the loop, each broadcasting unavailable presence
    /// to the account's other resources; without this, every such broadcast to a resource whose
    /// reset is still waiting its turn would be serialized and queued for nothing (1 000 resources:
    /// a million stanzas).
    /// </summary>
    public bool PeerGone => Volatile.Read(ref _peerGone) != 0;

    private void MarkPeerGone() => Volatile.Write(ref _peerGone, 1);

    /// <summary>
    /// <see cref="DropsOutput"/>, or the socket shows the peer closed or reset it: readable with
    /// nothing to read (poll(2) with no wait). Found so, the connection drops output from now on,
    /// as when its read loop sees the reset. In a mass reset the first going resource's broadcast
    /// finds its siblings gone this way, so the 1 000 broadcasts cost O(n), not O(n²) routed
    /// presences (issue 16 item 7).
    /// </summary>
    public bool ProbeDropsOutput()
    {
        if (DropsOutput) return true;
        if (_socket is null) return false;
        try
        {
            if (!_socket.Poll(0, SelectMode.SelectRead) || _socket.Available > 0) return false;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        MarkPeerGone();
        return true;
    }

    private long OutputBoundOf(string over) => over switch
    {
        "account" => _options.Output?.PerAccount ?? 0,
        "server" => _options.Output?.Total.Limit ?? 0,
        _ => _budget.Limit,
    };

    // Before each flush: if the socket takes nothing for the deadline, the client is not reading.
    // One timer per connection, re-armed per flush (no allocation once created).
    private void ArmSendDeadline()
    {
        if (_options.SendDeadline is not { } deadline || deadline <= TimeSpan.Zero) return;
        if (_sendDeadline is null)
        {
            _sendDeadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _loop.Time);
            _sendDeadline.Token.Register(static state => ((ClientConnection)state!).OnSendDeadline(), this);
        }
        _sendDeadline.CancelAfter(deadline);
    }

    private void DisarmSendDeadline() => _sendDeadline?.CancelAfter(Timeout.InfiniteTimeSpan);

    private void OnSendDeadline() =>
        StopForNotReading($"no output taken for {_options.SendDeadline!.Value.TotalSeconds:0.#} s with {_budget.Queued} bytes queued (send deadline)");

    // The connection ended: its bytes were dropped (DropQueued); it leaves its account's share.
    private void EndOutputBounds()
    {
        _budget.LeaveAccount();
        _sendDeadline?.Dispose();
        _sendDeadline = null;
    }
}
