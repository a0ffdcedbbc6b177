using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

/// <summary>A canonical text form of parser events, independent of the serializer, for comparing trees.</summary>
internal static class EventDump
{
    public static string Of(StreamEvent ev) => ev switch
    {
        StreamHeaderEvent h => $"HEADER({h.DefaultNamespace}){Of(h.Header)}",
        StreamElementEvent e => "ELEMENT" + Of(e.Element),
        StreamEndEvent => "END",
        _ => throw new ArgumentOutOfRangeException(nameof(ev)),
    };

    public static string Of(IEnumerable<StreamEvent> events) => string.Join("\n", events.Select(Of));

    public static string Of(XmlElement e)
    {
        string attributes = string.Join(",", e.Attributes.Select(a => $"{a.Name.Replace('\u0001', '|')}={a.Value}"));
        string children = string.Join(",", e.Children.Select(c => c is XmlElement x ? Of(x) : $"'{((XmlText)c).Value}'"));
        return $"{{{e.Namespace}}}{e.Name}[{attributes}]({children})";
    }
}
