namespace LuaXmpp.Bench.Micro;

/// <summary>The typical stanza of the benchmarks: a one-to-one chat message as a modern client
/// sends it (body, XEP-0085 active state, XEP-0359 origin id, XEP-0334 hint).</summary>
public static class Samples
{
    public const string Message =
        "<message xmlns='jabber:client' to='juliet@localhost/balcony' from='romeo@localhost/orchard' type='chat' id='a1b2c3d4-e5f6'>" +
        "<body>Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/>" +
        "<origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546014'/>" +
        "<store xmlns='urn:xmpp:hints'/>" +
        "</message>";

    /// <summary><see cref="Message"/> as the stream parser produces it.</summary>
    public static LuaXmpp.Xml.XmlElement ParseMessage()
    {
        var parser = new LuaXmpp.Xml.XmlStreamParser(new LuaXmpp.Xml.XmlStreamLimits());
        var input = new System.Buffers.ReadOnlySequence<byte>(System.Text.Encoding.UTF8.GetBytes(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>" + Message));
        parser.TryRead(ref input, out _);
        return parser.TryRead(ref input, out var ev) && ev is LuaXmpp.Xml.StreamElementEvent e
            ? e.Element
            : throw new InvalidOperationException("sample message does not parse");
    }
}
