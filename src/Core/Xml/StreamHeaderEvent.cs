namespace LuaXmpp.Xml;

/// <summary>
/// The opening &lt;stream:stream&gt; tag (RFC 6120 §4.7). <see cref="Header"/> has Name "stream", the
/// streams namespace and the attributes as sent (to, from, version, id, xml:lang); it has no children.
/// <see cref="DefaultNamespace"/> is the default namespace the header declared ("jabber:client" for c2s,
/// "" if none): the session decides whether it is acceptable (§4.8.2).
/// </summary>
public sealed record StreamHeaderEvent(XmlElement Header, string DefaultNamespace) : StreamEvent;
