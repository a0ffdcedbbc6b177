using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Modules.TestDoubles;

/// <summary>Base for tests that run against a fresh <see cref="TestServer"/>.</summary>
public abstract class ServerTest : IAsyncLifetime
{
    protected TestServer Server { get; private set; } = null!;

    protected virtual Dictionary<string, object?>? Options => null;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(Options);

    public async Task DisposeAsync() => await Server.DisposeAsync();

    protected static string? Condition(XmlElement reply) =>
        reply.Element("error")?.Elements().FirstOrDefault(e => e.Namespace == Namespaces.Stanzas)?.Name;

    /// <summary>Sends available presence and discards what that produced.</summary>
    protected static async Task AvailableAsync(TestClient client, int? priority = null)
    {
        await client.SendAsync(priority is null ? "<presence/>" : $"<presence><priority>{priority}</priority></presence>");
        await client.ReceivedAsync();
    }

    /// <summary>Fetches the roster (making the session interested in pushes) and returns the result.</summary>
    protected static Task<XmlElement> GetRosterAsync(TestClient client, string? ver = null) =>
        client.IqAsync(ver is null
            ? "<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>"
            : $"<iq type='get' id='roster1'><query xmlns='jabber:iq:roster' ver='{ver}'/></iq>");
}
