using System.Buffers;
using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

/// <summary>
/// Plays the network loop against a real parser: each chunk "arrives" as a new segment after the
/// unconsumed bytes, TryRead runs until it wants more, and only the unconsumed bytes are kept for the
/// next arrival, as a PipeReader does after AdvanceTo(buffer.Start, buffer.End).
/// </summary>
internal sealed class ParserDriver(XmlStreamParser parser, Action<XmlStreamParser, StreamEvent>? onEvent = null)
{
    private byte[] _pending = [];

    public List<StreamEvent> Events { get; } = new();

    /// <summary>Bytes handed back to the parser but not yet consumed.</summary>
    public long PendingBytes => _pending.Length;

    public ParserDriver Feed(byte[] chunk)
    {
        var buffer = TestSequenceSegment.Create([_pending, chunk]);
        while (parser.TryRead(ref buffer, out var ev))
        {
            Assert.NotNull(ev);
            Events.Add(ev);
            onEvent?.Invoke(parser, ev);
        }
        _pending = buffer.ToArray();
        return this;
    }

    public ParserDriver Feed(string text) => Feed(Encoding.UTF8.GetBytes(text));

    /// <summary>Feeds the input in the given pieces (split points are byte offsets).</summary>
    public ParserDriver FeedSplit(byte[] data, params int[] splits)
    {
        int start = 0;
        foreach (int split in splits.Append(data.Length))
        {
            Feed(data[start..split]);
            start = split;
        }
        return this;
    }

    /// <summary>Feeds one byte at a time.</summary>
    public ParserDriver FeedBytewise(byte[] data)
    {
        foreach (byte b in data) Feed([b]);
        return this;
    }
}
