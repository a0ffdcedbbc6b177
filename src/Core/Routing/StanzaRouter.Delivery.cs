using LuaXmpp.Events;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Routing;

/// <summary>
/// The delivery rules behind <see cref="Process"/>, <see cref="Post"/> and <see cref="Route"/>,
/// with Prosody's observable behaviour (core/stanza_router.lua): the same validation errors, the
/// same event names and the same treatment of anything nobody handled.
/// </summary>
public sealed partial class StanzaRouter
{
    private static readonly HashSet<string> IqTypes = new(StringComparer.Ordinal) { "get", "set", "result", "error" };

    private async ValueTask ProcessCore(Session origin, XmlElement stanza)
    {
        _fromSessions++;
        bool inStreamNamespace = stanza.Namespace == Namespaces.Client;
        if (origin.Type == "c2s" && inStreamNamespace && origin is ClientSession client)
        {
            if (!ValidateClientStanza(client, stanza)) return;
            // RFC 6120 §8.1.2.1: the server stamps the sender's full JID on everything a client sends.
            stanza.SetAttribute("from", client.FullJid?.ToString());
        }
        if (!NormalizeTo(origin, stanza)) return;
        if (!NormalizeFrom(origin, stanza)) return;

        if (origin.Type == "c2s" && inStreamNamespace)
        {
            await PostCore(origin, stanza, true);
            return;
        }
        // Prosody's core_process_stanza: an authenticated s2s stream's stanzas (the stream
        // handler checked their domains) are delivered without pre-events.
        if (origin.Type == "s2sin" && inStreamNamespace)
        {
            await PostCore(origin, stanza, false);
            return;
        }
        // Unbound sessions and nonzas: fired as "stanza/..." so stream-level features (SASL,
        // in-band registration before auth, stream management) can pick them up.
        var host = FindHost(stanza.GetAttribute("to") ?? origin.Host);
        if (host is not null && await host.Events.FireAsync(NonzaEventName(stanza), new EventData(origin, stanza)) is not null) return;
        HandleUnhandled(origin, stanza);
    }

    /// <summary>The checks Prosody makes on stanzas from bound clients (RFC 6120 §8.2.3, §8.3.3).</summary>
    private static bool ValidateClientStanza(ClientSession origin, XmlElement stanza)
    {
        var type = stanza.GetAttribute("type");
        if (type == "error" && stanza.FirstElement() is null)
        {
            HandleUnhandled(origin, stanza);
            return false;
        }
        if (stanza.Name != "iq") return true;
        string? problem = null;
        if (type is null || !IqTypes.Contains(type)) problem = "Invalid IQ type";
        else if (stanza.GetAttribute("id") is null) problem = "Missing required 'id' attribute";
        else if ((type == "get" || type == "set") && stanza.Elements().Count() != 1) problem = "Incorrect number of children for IQ stanza";
        if (problem is null) return true;
        origin.Send(StanzaReply.Error(stanza, StanzaError.BadRequest(problem)));
        return false;
    }

    /// <summary>Prepares the 'to' address in place; answers jid-malformed when it cannot be parsed.</summary>
    private bool NormalizeTo(Session origin, XmlElement stanza)
    {
        var to = stanza.GetAttribute("to");
        if (to is null) return true;
        if (sessions.FullSessions.ContainsKey(to) || sessions.BareSessions.ContainsKey(to) || FindHost(to) is not null) return true;
        if (!Jid.TryParse(to, out var jid))
        {
            origin.Log.Warn($"Received stanza with invalid destination JID: {to}");
            ReplyMalformed(origin, stanza, "The destination address is invalid: " + to);
            return false;
        }
        stanza.SetAttribute("to", jid.ToString());
        return true;
    }

    /// <summary>Only stanzas not stamped by a bound client carry a 'from' that needs checking.</summary>
    private static bool NormalizeFrom(Session origin, XmlElement stanza)
    {
        var from = stanza.GetAttribute("from");
        if (from is null || origin is ClientSession { FullJid: not null }) return true;
        if (!Jid.TryParse(from, out var jid))
        {
            origin.Log.Warn($"Received stanza with invalid source JID: {from}");
            ReplyMalformed(origin, stanza, "The source address is invalid: " + from);
            return false;
        }
        stanza.SetAttribute("from", jid.ToString());
        return true;
    }

    private static void ReplyMalformed(Session origin, XmlElement stanza, string text)
    {
        var type = stanza.GetAttribute("type");
        if (type != "error" && type != "result") origin.Send(StanzaReply.Error(stanza, StanzaError.JidMalformed(text)));
    }

    private static string NonzaEventName(XmlElement stanza)
    {
        if (stanza.Namespace != Namespaces.Client) return "stanza/" + stanza.Namespace + ":" + stanza.Name;
        var type = stanza.GetAttribute("type");
        if (stanza.Name == "iq" && (type == "get" || type == "set")
            && stanza.FirstElement() is { } payload && payload.Namespace != Namespaces.Client)
        {
            return "stanza/iq/" + payload.Namespace + ":" + payload.Name;
        }
        return "stanza/" + stanza.Name;
    }

    private async ValueTask<bool> PostCore(Session origin, XmlElement stanza, bool preEvents)
    {
        var address = Address.Classify(origin, stanza);
        var e = new EventData(origin, stanza);
        if (address.ToSelf)
        {
            // Prosody removes 'to' on stanzas to the sender's own account and flags them instead.
            stanza.SetAttribute("to", null);
            e["to_self"] = true;
        }
        if (preEvents && FindHost(origin.Host) is { } originHost)
        {
            if (await originHost.Events.FireAsync("pre-stanza", e) is not null) return true;
            if (await originHost.Events.FireAsync("pre-" + stanza.Name + address.Suffix, e) is not null) return true;
        }
        var destination = (address.BareJid is null ? null : FindHost(address.BareJid)) ?? FindHost(address.Host ?? origin.Host);
        if (destination is null)
        {
            await RouteCore(origin, stanza);
            return true;
        }
        if (await destination.Events.FireAsync(stanza.Name + address.Suffix, e) is not null) return true;
        if (address.ToSelf && await destination.Events.FireAsync(stanza.Name + "/self", e) is not null) return true;
        HandleUnhandled(origin, stanza);
        return false;
    }

    private async ValueTask RouteCore(Session origin, XmlElement stanza)
    {
        _fromServer++;
        var to = stanza.GetAttribute("to");
        var toHost = to is null ? null : HostOf(to);
        // A stanza a module sends without 'to' is for the origin's own host, as for a client.
        if (to is null || FindHost(toHost!) is not null)
        {
            await PostCore(origin, stanza, false);
            return;
        }
        var fromHost = HostOf(stanza.GetAttribute("from") ?? origin.Host);
        var local = fromHost is null ? null : FindHost(fromHost);
        if (local is null)
        {
            origin.Log.Error($"Cannot route stanza from non-local '{fromHost}' to '{toHost}'");
            return;
        }
        var e = new EventData(origin, stanza);
        e["from_host"] = fromHost;
        e["to_host"] = toHost;
        if (await local.Events.FireAsync("route/remote", e) is not null) return;
        // No server-to-server yet: nothing can reach another domain (RFC 6120 §8.3.3.19).
        var type = stanza.GetAttribute("type");
        if (type == "error" || (stanza.Name == "iq" && type == "result")) return;
        await RouteCore(local.Session, StanzaReply.Error(stanza, StanzaError.RemoteServerNotFound("Server-to-server communication is not available")));
    }

    private static string? HostOf(string jid) => JidParts.TrySplit(jid, out _, out var domain, out _) ? domain : null;

    /// <summary>
    /// Nobody took the stanza: errors and iq results are dropped, other stanzas bounce with
    /// service-unavailable (RFC 6120 §8.3.3.19), and unknown elements close the stream
    /// (RFC 6120 §4.9.3.24 unsupported-stanza-type).
    /// </summary>
    private static void HandleUnhandled(Session origin, XmlElement stanza)
    {
        bool isStanza = stanza.Namespace == Namespaces.Client && stanza.Name is "message" or "presence" or "iq";
        if (!isStanza)
        {
            origin.Log.Warn($"Unhandled {origin.Type} stream element: {stanza.Name}; xmlns={stanza.Namespace}");
            if (origin is ClientSession client) client.Close(StreamErrorCondition.UnsupportedStanzaType);
            return;
        }
        if (origin is ClientSession { FullJid: null } unbound)
        {
            // RFC 6120 §7.1: stanzas before resource binding are not processed; the stream is
            // closed with <not-authorized/>. (Handlers such as in-band registration ran first.)
            unbound.Log.Info($"Closing stream: {stanza.Name} sent before resource binding");
            unbound.Close(StreamErrorCondition.NotAuthorized, "Stanzas may be sent only after resource binding");
            return;
        }
        var type = stanza.GetAttribute("type");
        if (type == "error" || (stanza.Name == "iq" && type == "result"))
        {
            origin.Log.Debug($"Discarding unhandled {stanza.Name} of type {type}");
            return;
        }
        origin.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
    }
}
