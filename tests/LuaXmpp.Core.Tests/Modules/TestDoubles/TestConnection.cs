using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>An in-memory transport that records what the server sends.</summary>
public sealed class TestConnection(string remoteAddress = "127.0.0.1", bool secure = true) : IClientConnection
{
    public List<XmlElement> Sent { get; } = new();

    public StreamErrorCondition? CloseError { get; private set; }

    public bool Closed { get; private set; }

    public string RemoteAddress { get; } = remoteAddress;

    public bool IsSecure { get; } = secure;

    public void Send(XmlElement element) => Sent.Add(element);

    public void SendRaw(string text)
    {
    }

    public void Close(StreamErrorCondition? error = null, string? text = null)
    {
        if (Closed) return;
        Closed = true;
        CloseError = error;
    }
}
