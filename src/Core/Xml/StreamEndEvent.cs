namespace LuaXmpp.Xml;

/// <summary>The closing &lt;/stream:stream&gt; tag (RFC 6120 §4.4): the peer will send nothing more.</summary>
public sealed record StreamEndEvent : StreamEvent;
