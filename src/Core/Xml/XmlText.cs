namespace LuaXmpp.Xml;

/// <summary>Character data, unescaped.</summary>
public sealed class XmlText(string value) : XmlNode
{
    public string Value { get; set; } = value;

    public override XmlNode CloneNode() => new XmlText(Value);

    public override string ToString() => Value;
}
