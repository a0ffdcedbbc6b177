using System.Text;

namespace LuaXmpp.Xml;

/// <summary>
/// A mutable element tree: the unit the stream parser produces, the router routes and the
/// serializer writes. Every element carries its resolved namespace URI (stanzas in a c2s stream
/// are in "jabber:client"); prefixes are not kept, the serializer declares what it needs.
/// </summary>
/// <remarks>One owner at a time: the parser hands a stanza to the loop thread, which owns it from
/// then on. Connections serialize it when it is sent, so no other thread ever reads it.</remarks>
public sealed class XmlElement : XmlNode
{
    public XmlElement(string name, string ns)
    {
        Name = name;
        Namespace = ns;
    }

    /// <summary>The local name.</summary>
    public string Name { get; set; }

    /// <summary>The namespace URI, never null ("" for no namespace).</summary>
    public string Namespace { get; set; }

    public List<XmlAttribute> Attributes { get; } = new();

    public List<XmlNode> Children { get; } = new();

    public string? GetAttribute(string name)
    {
        foreach (var a in Attributes)
        {
            if (a.Name == name) return a.Value;
        }
        return null;
    }

    /// <summary>Sets, replaces or (with null) removes an attribute, keeping document order.</summary>
    public XmlElement SetAttribute(string name, string? value)
    {
        int i = Attributes.FindIndex(a => a.Name == name);
        if (value is null)
        {
            if (i >= 0) Attributes.RemoveAt(i);
        }
        else if (i >= 0) Attributes[i] = new XmlAttribute(name, value);
        else Attributes.Add(new XmlAttribute(name, value));
        return this;
    }

    public string? this[string attribute]
    {
        get => GetAttribute(attribute);
        set => SetAttribute(attribute, value);
    }

    /// <summary>The first child element with that name and namespace (namespace null: any).</summary>
    public XmlElement? Element(string name, string? ns = null)
    {
        foreach (var c in Children)
        {
            if (c is XmlElement e && e.Name == name && (ns is null || e.Namespace == ns)) return e;
        }
        return null;
    }

    public IEnumerable<XmlElement> Elements()
    {
        foreach (var c in Children)
        {
            if (c is XmlElement e) yield return e;
        }
    }

    public IEnumerable<XmlElement> Elements(string name, string? ns = null)
    {
        foreach (var e in Elements())
        {
            if (e.Name == name && (ns is null || e.Namespace == ns)) yield return e;
        }
    }

    /// <summary>The first child element, whatever its name.</summary>
    public XmlElement? FirstElement() => Elements().FirstOrDefault();

    /// <summary>The concatenated character data of the direct children.</summary>
    public string Text
    {
        get
        {
            string? single = null;
            StringBuilder? sb = null;
            foreach (var c in Children)
            {
                if (c is not XmlText t) continue;
                if (single is null) single = t.Value;
                else (sb ??= new StringBuilder(single)).Append(t.Value);
            }
            return sb?.ToString() ?? single ?? "";
        }
    }

    /// <summary>The text of the first child with that name, or null if there is none.</summary>
    public string? ChildText(string name, string? ns = null) => Element(name, ns)?.Text;

    /// <summary>Appends a child element and returns it (for building downwards).</summary>
    public XmlElement AddChild(XmlElement child)
    {
        Children.Add(child);
        return child;
    }

    /// <summary>Appends a new child element in the given namespace (default: this one's) and returns it.</summary>
    public XmlElement AddChild(string name, string? ns = null) => AddChild(new XmlElement(name, ns ?? Namespace));

    /// <summary>Appends character data and returns this element.</summary>
    public XmlElement AddText(string text)
    {
        Children.Add(new XmlText(text));
        return this;
    }

    /// <summary>Appends a child element with text content and returns this element.</summary>
    public XmlElement AddTextChild(string name, string text, string? ns = null)
    {
        AddChild(name, ns).AddText(text);
        return this;
    }

    public int RemoveChildren(Predicate<XmlElement> match) =>
        Children.RemoveAll(n => n is XmlElement e && match(e));

    public XmlElement Clone()
    {
        var copy = new XmlElement(Name, Namespace);
        copy.Attributes.AddRange(Attributes);
        foreach (var c in Children) copy.Children.Add(c.CloneNode());
        return copy;
    }

    public override XmlNode CloneNode() => Clone();

    /// <summary>The element serialized with its own namespace declared.</summary>
    public override string ToString() => XmlElementWriter.ToXmlString(this);
}
