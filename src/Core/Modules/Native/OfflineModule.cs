using System.Globalization;
using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Network;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_offline: stores messages for accounts with no available resource (RFC 6121 §8.5.2.1.1)
/// in the archive store "offline" as Prosody 0.12 does (with = "", when = Unix seconds), and
/// delivers them with a XEP-0203 delay stamp on the next initial presence of non-negative priority.
/// </summary>
public sealed class OfflineModule : INativeModule
{
    public string Name => "offline";

    public void Load(ModuleContext module)
    {
        module.AddFeature("msgoffline");
        var store = module.OpenArchive("offline");
        module.Hook("message/offline/handle", e => Store(module, store, e), -1);
        module.Hook("message/offline/broadcast", e => AsyncHandler.Run(module, e, () => BroadcastAsync(module, store, e)), -1);
    }

    private static object Store(ModuleContext module, IArchiveStore store, EventData e)
    {
        var stanza = e.Stanza!;
        string? node = null;
        if (stanza.GetAttribute("to") is { } to) JidParts.TrySplit(to, out node, out _, out _);
        else node = (e.Origin as ClientSession)?.Username;
        if (node is null) return false;
        long now = module.Server.Loop.Time.GetUtcNow().ToUnixTimeSeconds();
        var copy = stanza.Clone();
        return AsyncHandler.Run(module, e, async () =>
        {
            await store.AppendAsync(node, null, copy, now, "");
            module.Log.Debug($"Saved to offline storage for {node}");
        });
    }

    // Pages of at most this many messages (20 x the 256 KiB stanza limit = 5 MiB, well under a
    // connection's 16 MiB output budget); the next page is read only once the connection has
    // written all but OutputLowWater of what is queued (issue 16, item 7: a 381 MB backlog read
    // and sent at once peaked at 2.8 GB RSS).
    private const int PageSize = 20;
    private const long OutputLowWater = 1L << 20;
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);

    private static async Task BroadcastAsync(ModuleContext module, IArchiveStore store, EventData e)
    {
        if (e.Origin is not ClientSession { Username: { } user } session) return;
        while (true)
        {
            var result = await store.FindAsync(user, new ArchiveQuery { Limit = PageSize });
            // Gone while reading: keep the messages stored for the next session rather than lose them.
            if (session.Destroyed || result.Items.Count == 0) return;
            foreach (var item in result.Items) session.Send(WithDelay(module, item));
            // Delete exactly what was delivered, so a message stored meanwhile is not lost; the
            // next page is then the first of what is left.
            await store.DeleteAsync(user, new ArchiveQuery { Ids = result.Items.Select(i => i.Key).ToArray() });
            if (result.Items.Count < PageSize) return;
            await WaitForOutputAsync(module, session);
        }
    }

    // A client that does not read is closed by its send deadline, which ends this wait too.
    private static async Task WaitForOutputAsync(ModuleContext module, ClientSession session)
    {
        while (!session.Destroyed && session.Connection is ClientConnection { IsClosed: false } connection && connection.QueuedBytes > OutputLowWater)
            await Task.Delay(DrainPoll, module.Server.Loop.Time);
    }

    private static XmlElement WithDelay(ModuleContext module, ArchiveItem item)
    {
        var stanza = item.Value.Clone();
        var delay = stanza.AddChild("delay", Namespaces.Delay);
        delay.SetAttribute("from", module.Host.Name);
        delay.SetAttribute("stamp", DateTimeOffset.FromUnixTimeSeconds(item.When).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        return stanza;
    }
}
