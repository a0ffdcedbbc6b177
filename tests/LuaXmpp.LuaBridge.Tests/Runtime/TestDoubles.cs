using System.Collections.Concurrent;
using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Runtime;

/// <summary>A client connection that records what the server sends.</summary>
internal sealed class RecordingConnection : IClientConnection
{
    public ConcurrentQueue<XmlElement> Sent { get; } = new();

    public ConcurrentQueue<string> Raw { get; } = new();

    public bool Closed { get; private set; }

    public string RemoteAddress => "127.0.0.1";

    public bool IsSecure => true;

    public void Send(XmlElement element) => Sent.Enqueue(element);

    public void SendRaw(string text) => Raw.Enqueue(text);

    public StreamErrorCondition? CloseCondition { get; private set; }

    public void Close(StreamErrorCondition? error = null, string? text = null)
    {
        Closed = true;
        CloseCondition ??= error;
    }
}

/// <summary>Keeps log lines for assertions.</summary>
internal sealed class CapturingLogSink : ILogSink
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public LogLevel MinLevel => LogLevel.Debug;

    public void Write(LogEntry entry) => Entries.Enqueue(entry);

    public void Dispose()
    {
    }
}
