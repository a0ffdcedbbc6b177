namespace LuaXmpp.Xml;

/// <summary>
/// One attribute. <see cref="Name"/> follows Prosody's util.xmppstream convention so that stanzas
/// cross into Lua without renaming: an unqualified attribute is its local name, <c>xml:lang</c> is
/// "xml:lang", and any other namespaced attribute is "namespace-uri\u0001local-name".
/// </summary>
public readonly record struct XmlAttribute(string Name, string Value)
{
    /// <summary>The separator Prosody puts between namespace and local name.</summary>
    public const char NamespaceSeparator = '\u0001';
}
