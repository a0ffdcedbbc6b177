using LuaXmpp.Storage;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.StreamManagement;

public sealed class StreamManagementStateTests
{
    private static XmlElement Message(int n) =>
        new XmlElement("message", Namespaces.Client).SetAttribute("id", "m" + n);

    private static XmlElement Presence(int n) =>
        new XmlElement("presence", Namespaces.Client).SetAttribute("id", "p" + n);

    private static StreamManagementState WithSent(int count, int maxCount = 500)
    {
        var state = new StreamManagementState(maxCount, 1 << 20);
        for (int i = 1; i <= count; i++) state.Enqueue(Message(i));
        return state;
    }

    [Fact]
    public void Ack_TrimsQueue_UpToH()
    {
        var state = WithSent(5);

        var result = state.Ack(3);

        Assert.True(result.Valid);
        Assert.Equal(3u, result.NewlyAcked);
        Assert.Equal(["m4", "m5"], state.Unacknowledged().Select(e => e.GetAttribute("id")));
        Assert.Equal(2, state.Unacked);
    }

    [Fact]
    public void QueuedBetween_GivesSlicesInOrder_UpToThePositionAtResume_WhileAcksTrimTheFront()
    {
        var state = WithSent(5);
        state.Ack(1); // the resume's h
        var through = state.SentTotal;
        state.Enqueue(Message(6)); // routed after the resume: not part of the re-send

        var first = new List<byte[]>();
        var cursor = state.QueuedBetween(0, through, 2, first);
        state.Ack(3); // an ack between slices trims the front
        var rest = new List<byte[]>();
        var end = state.QueuedBetween(cursor, through, 2, rest);

        Assert.Equal(["m2", "m3"], first.Select(x => StoredXml.Parse(x).GetAttribute("id")));
        Assert.Equal(["m4", "m5"], rest.Select(x => StoredXml.Parse(x).GetAttribute("id")));
        Assert.Equal(through, end);
        Assert.Equal(end, state.QueuedBetween(end, through, 2, rest));
    }

    [Fact]
    public void QueuedBytes_AreWhatSendingTheStanzaAgainWouldWrite()
    {
        // A resume writes the queued bytes as they are (IClientConnection.SendSerialized) instead
        // of parsing and serializing each stanza again: the two must be the same bytes.
        var state = new StreamManagementState(10, 1 << 20);
        var message = new XmlElement("message", Namespaces.Client)
            .SetAttribute("to", "jülia@example.com/ä").SetAttribute("type", "chat").SetAttribute("id", "a'b\"c<&>");
        message.AddTextChild("body", "text with <markup> & \"quotes\", é, 日本, 🎉");
        var x = message.AddChild("x", "jabber:x:oob");
        x.AddTextChild("url", "https://example.com/?a=1&b=2");
        message.AddChild(new XmlElement("request", "urn:xmpp:receipts"));
        var delay = new XmlElement("delay", "urn:xmpp:delay").SetAttribute("from", "example.com").SetAttribute("stamp", "2026-12-08T01:00:00Z");
        state.Enqueue(message, delay);
        state.Enqueue(new XmlElement("presence", Namespaces.Client).SetAttribute("from", "a@example.com/r"));

        var queued = new List<byte[]>();
        state.QueuedBetween(0, state.SentTotal, 10, queued);

        Assert.Equal(2, queued.Count);
        foreach (var bytes in queued)
        {
            var again = new System.Buffers.ArrayBufferWriter<byte>();
            XmlElementWriter.Write(again, StoredXml.Parse(bytes), Namespaces.Client);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(bytes), System.Text.Encoding.UTF8.GetString(again.WrittenSpan));
        }
        Assert.Contains("urn:xmpp:delay", System.Text.Encoding.UTF8.GetString(queued[0]));
    }

    [Fact]
    public void Ack_IsIdempotent_ForTheSameH()
    {
        var state = WithSent(3);
        state.Ack(2);

        var again = state.Ack(2);

        Assert.True(again.Valid);
        Assert.Equal(0u, again.NewlyAcked);
        Assert.Single(state.Unacknowledged());
    }

    [Fact]
    public void Ack_FailsNamingBothNumbers_WhenClaimingMoreThanSent()
    {
        var state = WithSent(3);

        var result = state.Ack(5);

        Assert.False(result.Valid);
        Assert.Contains("5", result.ErrorText);
        Assert.Contains("3", result.ErrorText);
        Assert.Equal(3, state.Unacked); // nothing trimmed
    }

    [Fact]
    public void Ack_FailsAsOverclaim_WhenHGoesBackwards()
    {
        // With modulo-2^32 arithmetic a smaller h is a claim of almost 2^32 more stanzas.
        var state = WithSent(5);
        state.Ack(4);

        Assert.False(state.Ack(2).Valid);
        Assert.False(state.CanAck(2));
    }

    [Fact]
    public void Counters_WrapAround_At2Pow32()
    {
        var state = new StreamManagementState(500, 1 << 20);
        state.SetCounters(uint.MaxValue - 1, uint.MaxValue - 1);

        state.CountInbound();
        state.CountInbound();
        state.CountInbound();
        for (int i = 1; i <= 4; i++) state.Enqueue(Message(i));

        Assert.Equal(1u, state.Handled);       // 2^32 - 2 + 3 = 1 (mod 2^32)
        Assert.Equal(2u, state.Sent);          // 2^32 - 2 + 4 = 2 (mod 2^32)
        Assert.Equal(4, state.Unacked);
    }

    [Fact]
    public void Ack_AcrossTheWrap_TrimsTheRightStanzas()
    {
        var state = new StreamManagementState(500, 1 << 20);
        state.SetCounters(0, uint.MaxValue - 1);
        for (int i = 1; i <= 4; i++) state.Enqueue(Message(i));

        var first = state.Ack(uint.MaxValue);  // m1 (h = 2^32 - 1)
        var second = state.Ack(1);             // m2 (h = 0) and m3 (h = 1)

        Assert.True(first.Valid);
        Assert.Equal(1u, first.NewlyAcked);
        Assert.True(second.Valid);
        Assert.Equal(2u, second.NewlyAcked);
        Assert.Equal(["m4"], state.Unacknowledged().Select(e => e.GetAttribute("id")));
        Assert.False(state.Ack(3).Valid);      // only up to h = 2 was sent
    }

    [Fact]
    public void Enqueue_Overflow_KeepsMessagesAsUnacked_AndMarksNotResumable()
    {
        var state = new StreamManagementState(3, 1 << 20);

        bool[] firsts = Enumerable.Range(1, 5).Select(i => state.Enqueue(Message(i))).ToArray();

        Assert.Equal([false, false, false, true, false], firsts);
        Assert.True(state.Overflowed);
        Assert.Equal(3, state.QueuedCount);
        Assert.Equal(5, state.Unacked);
        // Nothing is dropped: the overflowed messages stay first in line for offline delivery.
        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], state.Unacknowledged().Select(e => e.GetAttribute("id")));
        Assert.Equal(["m3", "m4", "m5"], state.Queued().Select(e => e.GetAttribute("id")));
    }

    [Fact]
    public void Spill_ReachesItsLimit_AtFourBatches()
    {
        // Queue of 3, so a batch is 3 messages; while one is being stored the spill may hold four.
        var state = new StreamManagementState(3, 1 << 20);
        for (int i = 1; i <= 3 + 11; i++) state.Enqueue(Message(i));
        Assert.True(state.SpillFull);
        Assert.False(state.SpillOverLimit);

        state.Enqueue(Message(15));

        Assert.Equal(12, state.SpilledCount);
        Assert.True(state.SpillOverLimit);
        state.TakeSpill();
        Assert.False(state.SpillOverLimit);
    }

    [Fact]
    public void Spill_IsBoundedLikeTheQueue_AndTakenOnce()
    {
        var state = new StreamManagementState(3, 1 << 20);
        for (int i = 1; i <= 5; i++) state.Enqueue(Message(i));
        Assert.False(state.SpillFull);

        state.Enqueue(Message(6));

        Assert.True(state.SpillFull);
        Assert.Equal(["m1", "m2", "m3"], state.TakeSpill().Select(e => e.GetAttribute("id")));
        Assert.Equal(0, state.SpilledCount);
        Assert.False(state.SpillFull);
        Assert.Equal(6, state.Unacked);
        Assert.Equal(["m4", "m5", "m6"], state.Unacknowledged().Select(e => e.GetAttribute("id")));
        Assert.True(state.Ack(6).Valid);
        Assert.Empty(state.Unacknowledged());
    }

    [Fact]
    public void Enqueue_Overflow_CountsDroppedNonMessages()
    {
        var state = new StreamManagementState(2, 1 << 20);
        state.Enqueue(Presence(1));
        state.Enqueue(Message(2));
        state.Enqueue(Message(3));

        Assert.Equal(1, state.DroppedNonMessages);
        Assert.Equal(3, state.Unacked);
        Assert.True(state.Ack(3).Valid);
        Assert.Empty(state.Unacknowledged());
    }

    [Fact]
    public void Enqueue_RespectsByteBound()
    {
        var big = new XmlElement("message", Namespaces.Client).AddTextChild("body", new string('x', 1000));
        var state = new StreamManagementState(500, 2500);

        state.Enqueue(big.Clone());
        state.Enqueue(big.Clone());
        Assert.False(state.Overflowed);
        state.Enqueue(big.Clone());

        Assert.True(state.Overflowed);
        Assert.Equal(2, state.QueuedCount);
        Assert.True(state.QueuedBytes <= 2500);
    }

    [Fact]
    public void TakeUnacknowledged_EmptiesQueue_AndSettlesCounters()
    {
        var state = WithSent(3);

        var taken = state.TakeUnacknowledged();

        Assert.Equal(3, taken.Count);
        Assert.Equal(0, state.Unacked);
        Assert.Empty(state.Unacknowledged());
    }

    [Fact]
    public void CanAck_AcceptsExactlyUpToSent()
    {
        var state = WithSent(2);

        Assert.True(state.CanAck(0));
        Assert.True(state.CanAck(2));
        Assert.False(state.CanAck(3));
    }

    [Fact]
    public void QueuedStanza_IsHeldAsUtf8_AndComesBackTheSame()
    {
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("id", "a\tb\"c'").SetAttribute("xml:lang", "de");
        message.AddTextChild("body", "Grüße & <tags>\r\n 😀");
        message.AddChild("delay", "urn:xmpp:delay").SetAttribute("stamp", "2026-12-07T10:00:00Z");
        // Written with the stream's "stream:" prefix (found by StanzaFuzzTests: it did not parse back).
        message.AddChild("error", Namespaces.Streams).AddChild("conflict", "urn:ietf:params:xml:ns:xmpp-streams");
        var state = new StreamManagementState(500, 1 << 20);

        state.Enqueue(message.Clone());

        var back = Assert.Single(state.Unacknowledged());
        Assert.Equal(message.ToString(), back.ToString());
        Assert.Equal("Grüße & <tags>\r\n 😀", back.ChildText("body"));
        // Counted in UTF-8 bytes as written, not in characters.
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(XmlElementWriter.ToXmlString(message, Namespaces.Client)), state.QueuedBytes);
    }
}
