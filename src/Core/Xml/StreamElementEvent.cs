namespace LuaXmpp.Xml;

/// <summary>One complete depth-1 element: a stanza, a negotiation element or a stream-level element.</summary>
public sealed record StreamElementEvent(XmlElement Element) : StreamEvent;
