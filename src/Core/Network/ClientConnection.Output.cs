using System.Threading.Channels;
using LuaXmpp.Loop;

namespace LuaXmpp.Network;

// The writer's queue and its doorbell. Everything for the socket goes through _outgoing in order;
// the writer sleeps on _bell, not on the queue, so that waking it can wait: stanzas sent on the
// loop ring once at the end of the loop's turn (ServerLoop.AtTurnEnd), so the stanzas one turn
// sends to a client leave in one write(2) and one writer wake-up instead of one each. Under
// routed load that was one send per message (docs/PERFORMANCE.md, "Routed messages: where the CPU
// goes"). Everything else (close, markers, held output, TLS) rings at once.
public sealed partial class ClientConnection : ServerLoop.ITurnEnd
{
    private readonly Channel<bool> _bell = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    // Loop-thread only: a ring is already registered for the end of this turn.
    private bool _ringAtTurnEnd;

    // Queues an item and wakes the writer now. False once the queue is closed.
    private bool QueueNow(object item)
    {
        if (!_outgoing.Writer.TryWrite(item)) return false;
        Ring();
        return true;
    }

    // Queues bytes and wakes the writer at the end of the loop's turn (at once off the loop).
    private bool QueueAtTurnEnd(byte[] bytes)
    {
        if (!_outgoing.Writer.TryWrite(bytes)) return false;
        if (!_loop.IsOnLoop) Ring();
        else if (!_ringAtTurnEnd)
        {
            _ringAtTurnEnd = true;
            _loop.AtTurnEnd(this);
        }
        return true;
    }

    // No more output after what is queued; the writer finishes it and stops.
    private void CompleteOutput()
    {
        _outgoing.Writer.TryComplete();
        Ring();
    }

    void ServerLoop.ITurnEnd.OnTurnEnd()
    {
        _ringAtTurnEnd = false;
        Ring();
    }

    private void Ring() => _bell.Writer.TryWrite(true);

    // True when something is queued; false once the queue is completed and empty. Every write to
    // _outgoing rings after it, so a ring cannot be missed between the look and the wait.
    private async ValueTask<bool> WaitForOutputAsync(ChannelReader<object> reader)
    {
        while (true)
        {
            if (reader.TryPeek(out _)) return true;
            if (reader.Completion.IsCompleted) return false;
            await _bell.Reader.WaitToReadAsync(_closing.Token).ConfigureAwait(false);
            _bell.Reader.TryRead(out _);
        }
    }
}
