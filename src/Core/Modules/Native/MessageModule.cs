using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_message: RFC 6121 §8.5 delivery of messages to local accounts. To a full JID: that
/// resource if bound, else treated as sent to the bare JID. To a bare JID: chat and normal go to
/// the available resources of highest non-negative priority (all of them on a tie), or to
/// "message/offline/handle" when none is available; headline to every available non-negative
/// resource or nowhere; groupchat only through "message/bare/groupchat"; errors are dropped.
/// </summary>
public sealed class MessageModule : INativeModule
{
    public string Name => "message";

    public void Load(ModuleContext module)
    {
        // Per recipient bare JID, the latest offline hand-off still in flight (loop thread only).
        var offline = new Dictionary<string, Task>(StringComparer.Ordinal);
        module.Hook("message/full", e => ToFull(module, offline, e), -1);
        module.Hook("message/bare", e => ToBare(module, offline, e), -1);
        // Ahead of mod_offline (-1): delivery on initial presence waits for hand-offs already under way.
        module.Hook("message/offline/broadcast", e => AfterHandOffs(module, offline, e), 10);
    }

    /// <summary>The available resources with the highest non-negative priority (Prosody's top_resources).</summary>
    public static IReadOnlyList<ClientSession> TopResources(BareSession? user) => user is null ? [] : user.TopResources();

    private static object ToFull(ModuleContext module, Dictionary<string, Task> offline, EventData e)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to")!;
        if (module.Server.Sessions.GetFull(to) is { Destroyed: false } session)
        {
            session.Send(stanza);
            return true;
        }
        JidParts.TrySplit(to, out var node, out var host, out _);
        return ToBareJid(module, offline, node + "@" + host, e);
    }

    private static object ToBare(ModuleContext module, Dictionary<string, Task> offline, EventData e)
    {
        var bare = e.Stanza!.GetAttribute("to") ?? (e.Origin as ClientSession)?.BareJid?.ToString();
        return bare is null ? true : ToBareJid(module, offline, bare, e);
    }

    private static object ToBareJid(ModuleContext module, Dictionary<string, Task> offline, string bare, EventData e)
    {
        var stanza = e.Stanza!;
        var user = module.Server.Sessions.GetBare(bare);
        switch (stanza.GetAttribute("type"))
        {
            case "error":
                return true;
            case "groupchat":
                return AsyncHandler.Run(module, e, () => GroupchatAsync(module, bare, e));
            case "headline":
                // RFC 6121 §8.5.2.1.2: headlines go to all non-negative resources, or are silently dropped.
                if (user is not null && stanza.GetAttribute("to") == bare)
                {
                    foreach (var session in user.Sessions.Values)
                    {
                        if (session.IsAvailable && (session.Priority ?? 0) >= 0) session.Send(stanza.Clone());
                    }
                }
                return true;
            default:
                var top = TopResources(user);
                if (top.Count > 0)
                {
                    foreach (var session in top) session.Send(top.Count == 1 ? stanza : stanza.Clone());
                    return true;
                }
                return AsyncHandler.Run(module, e, () => OfflineInOrder(module, offline, bare, e));
        }
    }

    private static async Task GroupchatAsync(ModuleContext module, string bare, EventData e)
    {
        JidParts.TrySplit(bare, out var node, out _, out _);
        if (node is not null && await module.Server.Auth(module.Host.Name).UserExistsAsync(node))
        {
            if (await module.FireEventAsync("message/bare/groupchat", new EventData(e.Origin, e.Stanza)) is not null) return;
        }
        Bounce(e.Origin, e.Stanza!);
    }

    /// <summary>
    /// Hands a message to offline storage after every earlier message to the same recipient, so
    /// they are stored (and later delivered) in the order they were routed (RFC 6121 §8.5.2.1.1).
    /// The account checks of a burst still run concurrently; only the hand-offs are ordered.
    /// </summary>
    private static Task OfflineInOrder(ModuleContext module, Dictionary<string, Task> inFlight, string bare, EventData e)
    {
        inFlight.TryGetValue(bare, out var previous);
        var task = OfflineAsync(module, bare, e, previous);
        if (task.IsCompleted) return task;
        inFlight[bare] = task;
        _ = ForgetWhenDoneAsync(inFlight, bare, task);
        return task;
    }

    private static async Task ForgetWhenDoneAsync(Dictionary<string, Task> inFlight, string bare, Task task)
    {
        // WhenAny never throws: the failure itself is AsyncHandler's to report. Resumes on the loop.
        await Task.WhenAny(task);
        if (inFlight.TryGetValue(bare, out var latest) && latest == task) inFlight.Remove(bare);
    }

    /// <summary>
    /// A message routed to offline storage just before the recipient came online may still be
    /// between its account check and its store; the offline delivery waits for it (and so
    /// includes it, in order) instead of leaving it stored until the next login.
    /// </summary>
    private static object? AfterHandOffs(ModuleContext module, Dictionary<string, Task> inFlight, EventData e)
    {
        if (e.Origin is not ClientSession { BareJid: { } jid } || !inFlight.TryGetValue(jid.ToString(), out var pending)) return null;
        _ = FireAgainAfterAsync(module, e, pending);
        return true;
    }

    private static async Task FireAgainAfterAsync(ModuleContext module, EventData e, Task pending)
    {
        await Task.WhenAny(pending); // resumes on the loop
        if (e.Origin is ClientSession { Destroyed: false }) module.FireEvent("message/offline/broadcast", e);
    }

    private static async Task OfflineAsync(ModuleContext module, string bare, EventData e, Task? previous)
    {
        JidParts.TrySplit(bare, out var node, out _, out _);
        bool exists = node is not null && await module.Server.Auth(module.Host.Name).UserExistsAsync(node);
        if (previous is not null) await Task.WhenAny(previous);
        object? stored = null;
        if (exists)
        {
            var offline = new EventData(e.Origin, e.Stanza);
            offline["username"] = node;
            // Waits for the offline store's commit: the sender's pass (and its XEP-0198 ack) ends after it.
            stored = await module.Host.Events.FireAsync("message/offline/handle", offline);
        }
        // RFC 6121 §8.5.2.2.1: no account (or no offline storage) → service-unavailable.
        if (stored is null || stored is false) Bounce(e.Origin, e.Stanza!);
    }

    private static void Bounce(Session? origin, XmlElement stanza) =>
        origin?.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
}
