using BenchmarkDotNet.Attributes;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// The XEP-0198 fast path's per-stanza work: counting an outgoing stanza into the unacked queue
/// (with the copy the controller keeps for resending), counting an inbound one, and trimming on
/// an ack every 10 stanzas as the load generator's clients do.
/// </summary>
[MemoryDiagnoser]
public class SmacksBenchmarks
{
    private StreamManagementState _state = null!;
    private XmlElement _message = null!;

    [GlobalSetup]
    public void Setup()
    {
        _state = new StreamManagementState(maxCount: 500, maxBytes: 500 * 16 * 1024);
        _message = Samples.ParseMessage();
    }

    /// <summary>One outgoing stanza: copy, count, queue; every tenth is followed by an ack of all.</summary>
    [Benchmark]
    public uint CountOutgoing_AckEveryTen()
    {
        _state.Enqueue(_message.Clone());
        if (_state.Sent % 10 == 0) _state.Ack(_state.Sent);
        return _state.Sent;
    }

    /// <summary>One inbound stanza: h + 1.</summary>
    [Benchmark]
    public uint CountInbound() => _state.CountInbound();
}
