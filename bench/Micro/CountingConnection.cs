using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Bench.Micro;

/// <summary>A transport that only counts: the benchmarks measure routing, not I/O.</summary>
internal sealed class CountingConnection : IClientConnection
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public string RemoteAddress => "127.0.0.1";

    public bool IsSecure => true;

    public void Send(XmlElement element) => Interlocked.Increment(ref _count);

    public void SendRaw(string text)
    {
    }

    public void Close(StreamErrorCondition? error = null, string? text = null)
    {
    }
}
