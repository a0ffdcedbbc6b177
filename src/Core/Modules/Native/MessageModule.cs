using LuaXmpp.Events;
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
        module.Hook("message/full", e => ToFull(module, e), -1);
        module.Hook("message/bare", e => ToBare(module, e), -1);
    }

    /// <summary>The available resources with the highest non-negative priority (Prosody's top_resources).</summary>
    public static IReadOnlyList<ClientSession> TopResources(BareSession? user)
    {
        var top = new List<ClientSession>();
        if (user is null) return top;
        int best = 0;
        foreach (var session in user.Sessions.Values)
        {
            if (!session.IsAvailable || session.Destroyed) continue;
            int p = session.Priority ?? 0;
            if (p > best)
            {
                best = p;
                top.Clear();
                top.Add(session);
            }
            else if (p == best) top.Add(session);
        }
        return top;
    }

    private static object ToFull(ModuleContext module, EventData e)
    {
        var stanza = e.Stanza!;
        var to = stanza.GetAttribute("to")!;
        if (module.Server.Sessions.GetFull(to) is { Destroyed: false } session)
        {
            session.Send(stanza);
            return true;
        }
        JidParts.TrySplit(to, out var node, out var host, out _);
        return ToBareJid(module, node + "@" + host, e);
    }

    private static object ToBare(ModuleContext module, EventData e)
    {
        var bare = e.Stanza!.GetAttribute("to") ?? (e.Origin as ClientSession)?.BareJid?.ToString();
        return bare is null ? true : ToBareJid(module, bare, e);
    }

    private static object ToBareJid(ModuleContext module, string bare, EventData e)
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
                return AsyncHandler.Run(module, e, () => OfflineAsync(module, bare, e));
        }
    }

    private static async Task GroupchatAsync(ModuleContext module, string bare, EventData e)
    {
        JidParts.TrySplit(bare, out var node, out _, out _);
        if (node is not null && await module.Server.Auth(module.Host.Name).UserExistsAsync(node))
        {
            if (module.FireEvent("message/bare/groupchat", new EventData(e.Origin, e.Stanza)) is not null) return;
        }
        Bounce(e.Origin, e.Stanza!);
    }

    private static async Task OfflineAsync(ModuleContext module, string bare, EventData e)
    {
        JidParts.TrySplit(bare, out var node, out _, out _);
        object? stored = null;
        if (node is not null && await module.Server.Auth(module.Host.Name).UserExistsAsync(node))
        {
            var offline = new EventData(e.Origin, e.Stanza);
            offline["username"] = node;
            stored = module.FireEvent("message/offline/handle", offline);
        }
        // RFC 6121 §8.5.2.2.1: no account (or no offline storage) → service-unavailable.
        if (stored is null || stored is false) Bounce(e.Origin, e.Stanza!);
    }

    private static void Bounce(Sessions.Session? origin, XmlElement stanza) =>
        origin?.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
}
