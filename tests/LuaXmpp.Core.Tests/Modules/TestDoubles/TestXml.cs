using System.Xml.Linq;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>Parses test stanzas written as XML text (default namespace jabber:client) into XmlElement trees.</summary>
public static class TestXml
{
    public static XmlElement Parse(string xml)
    {
        var wrapper = XElement.Parse("<wrapper xmlns='jabber:client'>" + xml + "</wrapper>");
        return Convert(wrapper.Elements().Single());
    }

    private static XmlElement Convert(XElement source)
    {
        var e = new XmlElement(source.Name.LocalName, source.Name.NamespaceName);
        foreach (var a in source.Attributes())
        {
            if (a.IsNamespaceDeclaration) continue;
            var name = a.Name.Namespace == XNamespace.None ? a.Name.LocalName
                : a.Name.Namespace == XNamespace.Xml ? "xml:" + a.Name.LocalName
                : a.Name.NamespaceName + XmlAttribute.NamespaceSeparator + a.Name.LocalName;
            e.SetAttribute(name, a.Value);
        }
        foreach (var node in source.Nodes())
        {
            if (node is XElement child) e.AddChild(Convert(child));
            else if (node is XText text) e.AddText(text.Value);
        }
        return e;
    }
}
