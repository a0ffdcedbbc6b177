using LuaXmpp.Archive;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Archive;

public sealed class ArchiveResultMessageTests
{
    private static ArchiveItem Item(string ns)
    {
        var stored = new XmlElement("message", ns).SetAttribute("from", "bob@x/r").SetAttribute("type", "chat");
        stored.AddTextChild("body", "hello");
        return new ArchiveItem("id-1", 1_700_000_000, "bob@x", stored);
    }

    [Fact]
    public void Build_WrapsTheItem_AsXep0313Result_WithDelayStampAndQueryId()
    {
        var message = ArchiveResultMessage.Build(Item(Namespaces.Client), new("alice@x/r", "alice@x", "q1"));

        Assert.Equal(
            "<message xmlns='jabber:client' to='alice@x/r' from='alice@x'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='id-1'>"
            + "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2023-11-14T22:13:20Z'/>"
            + "<message xmlns='jabber:client' from='bob@x/r' type='chat'><body>hello</body></message></forwarded></result></message>",
            message.ToString().Replace('"', '\''));
    }

    [Fact]
    public void Build_WithoutQueryIdOrFrom_LeavesThemOut_AndPutsTheItemInJabberClient()
    {
        var message = ArchiveResultMessage.Build(Item("jabber:server"), new("alice@x/r", null, null));

        var result = message.Element("result", ArchiveResultMessage.MamNamespace)!;
        Assert.Null(message["from"]);
        Assert.Null(result["queryid"]);
        Assert.Equal(Namespaces.Client, result.Element("forwarded")!.Element("message")!.Namespace);
    }
}
