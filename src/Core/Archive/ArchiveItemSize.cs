using LuaXmpp.Xml;

namespace LuaXmpp.Archive;

/// <summary>
/// A cheap estimate of the memory a queued archive item holds (names, attribute values and text,
/// two bytes a character), for the writer's hold bound. Not its serialised length.
/// </summary>
public static class ArchiveItemSize
{
    public static long Estimate(XmlElement element)
    {
        long chars = element.Name.Length + element.Namespace.Length;
        foreach (var a in element.Attributes) chars += a.Name.Length + a.Value.Length;
        foreach (var child in element.Children)
        {
            chars += child switch
            {
                XmlElement e => Estimate(e) / 2,
                XmlText t => t.Value.Length,
                _ => 0,
            };
        }
        return chars * 2;
    }
}
