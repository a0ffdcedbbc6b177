namespace LuaXmpp.Xml;

/// <summary>A node of a stanza tree: an element or a run of character data.</summary>
public abstract class XmlNode
{
    /// <summary>A deep copy of this node.</summary>
    public abstract XmlNode CloneNode();
}
