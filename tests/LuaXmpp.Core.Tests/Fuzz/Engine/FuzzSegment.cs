using System.Buffers;

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// A pipe's view of received bytes, as System.IO.Pipelines keeps it: a chain of segments that grows at the
/// tail as pieces arrive (slices of the input, no copies) and is read from the first unconsumed position.
/// Arrival and consumption cost O(1), so only the parser's own costs show in the fuzzer's bounds.
/// </summary>
internal sealed class FuzzSegment : ReadOnlySequenceSegment<byte>
{
    private FuzzSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>The received, unconsumed bytes of one connection.</summary>
    public sealed class Chain
    {
        private FuzzSegment? _last;
        private SequencePosition _start;

        /// <summary>Everything received and not yet consumed.</summary>
        public ReadOnlySequence<byte> Unconsumed =>
            _last is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>((FuzzSegment)_start.GetObject()!, _start.GetInteger(), _last, _last.Memory.Length);

        public void Append(ReadOnlyMemory<byte> piece)
        {
            var segment = new FuzzSegment(piece, _last is null ? 0 : _last.RunningIndex + _last.Memory.Length);
            if (_last is null) _start = new SequencePosition(segment, 0);
            else _last.Next = segment;
            _last = segment;
        }

        /// <summary>What the caller does after the parser is done with a buffer: AdvanceTo(buffer.Start).</summary>
        public void ConsumeTo(ReadOnlySequence<byte> rest)
        {
            if (_last is not null) _start = rest.Start;
        }
    }
}
