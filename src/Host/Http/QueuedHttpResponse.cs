using System.Threading.Channels;
using LuaXmpp.Http;

namespace LuaXmpp.Host.Http;

/// <summary>
/// The bridge between the loop (which answers) and Kestrel's request task (which writes): the
/// loop queues the status line and headers, body chunks and the end; the request task drains
/// them into the socket. Nothing on the loop waits for the client.
/// </summary>
internal sealed class QueuedHttpResponse : IHttpResponse
{
    private readonly Channel<Part> _parts = Channel.CreateUnbounded<Part>(new UnboundedChannelOptions { SingleReader = true });
    private volatile bool _completed;
    private bool _started;

    public bool Completed => _completed;

    public string? Owner { get; set; }

    public ChannelReader<Part> Parts => _parts.Reader;

    public void Start(int status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (_completed || _started) return;
        _started = true;
        _parts.Writer.TryWrite(new Part(status, headers, default));
    }

    public void Write(ReadOnlyMemory<byte> chunk)
    {
        if (_completed) return;
        if (!_started) Start(200, []);
        if (!chunk.IsEmpty) _parts.Writer.TryWrite(new Part(0, null, chunk.ToArray()));
    }

    public void Finish()
    {
        if (_completed) return;
        if (!_started) Start(200, []);
        _completed = true;
        _parts.Writer.TryComplete();
    }

    /// <summary>The client went away (or the request failed): later writes are dropped.</summary>
    public void Abandon()
    {
        _completed = true;
        _parts.Writer.TryComplete();
    }

    /// <summary>Status and headers (Status &gt; 0), or a body chunk.</summary>
    internal readonly record struct Part(int Status, IReadOnlyList<KeyValuePair<string, string>>? Headers, ReadOnlyMemory<byte> Chunk);
}
