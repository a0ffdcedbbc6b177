using LuaXmpp.Xml;

namespace LuaXmpp.Components;

/// <summary>The component protocol's namespace and the stanza namespace swap at its edge.</summary>
public static class ComponentNamespaces
{
    /// <summary>XEP-0114 §2: the default namespace of a component stream.</summary>
    public const string Accept = "jabber:component:accept";

    /// <summary>Moves a stanza and its descendants from one stanza namespace to another (the inside of the server speaks jabber:client).</summary>
    public static void Rename(XmlElement element, string from, string to)
    {
        if (element.Namespace == from) element.Namespace = to;
        foreach (var child in element.Elements()) Rename(child, from, to);
    }
}
