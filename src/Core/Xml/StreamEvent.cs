namespace LuaXmpp.Xml;

/// <summary>One unit the stream parser reports: the stream header, a depth-1 element, or the stream's end.</summary>
public abstract record StreamEvent;
