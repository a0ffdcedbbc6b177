using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Configuration;
using LuaXmpp.Hosts;
using LuaXmpp.Network;
using LuaXmpp.Routing;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Components;

/// <summary>
/// The server side of the Jabber Component Protocol (XEP-0114) for one connection on
/// component_ports, on the loop thread: the stream header names a Component host that has a
/// component_secret; the component proves the secret with &lt;handshake/&gt; (SHA-1 of the
/// stream id and the secret, §3); then its stanzas are routed like any local service's, with
/// 'from' held to its own domain, and mod_component sends it every stanza for the domain.
/// </summary>
public sealed class ComponentStreamHandler(IHostDirectory hosts, IConfigManager config, StanzaRouter router,
    ClientConnection connection, ComponentRegistry registry) : IStreamHandler
{
    /// <summary>Prosody 0.12: component_stanza_size_limit, else s2s_stanza_size_limit, else 512 KiB.</summary>
    private const int DefaultStanzaSizeLimit = 512 * 1024;

    private string? _host;
    private string? _secret;
    private string? _streamId;
    private ComponentSession? _session;

    public Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header)
    {
        if (_host is not null) return Fail(StreamErrorCondition.PolicyViolation, "The component stream is not restarted");
        if (header.DefaultNamespace != ComponentNamespaces.Accept)
            return Fail(StreamErrorCondition.InvalidNamespace, "This is a component port: the stream namespace must be jabber:component:accept");
        var to = header.Header.GetAttribute("to");
        if (to is null) return Fail(StreamErrorCondition.ImproperAddressing, "A 'to' attribute is required on stream headers");
        var host = JidPrep.Nameprep(to);
        var context = host is null ? null : hosts.FindHost(host);
        var secret = context is { IsComponent: true } ? config.Config.GetString(context.Name, "component_secret") : null;
        // The error too goes out in a component stream (the connection would open a c2s one).
        SendHeader(host ?? "invalid.invalid");
        if (host is null || secret is null)
            return Fail(StreamErrorCondition.HostUnknown, $"{to} does not match any configured external components");
        _host = host;
        _secret = secret;
        return Continue;
    }

    private void SendHeader(string from)
    {
        _streamId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        connection.ServerName = from;
        connection.SendRaw("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " +
            $"xmlns:stream='http://etherx.jabber.org/streams' id='{_streamId}' from='{System.Security.SecurityElement.Escape(from)}'>");
        connection.HeaderSent = true;
    }

    public Task<StreamAction> OnElementAsync(XmlElement element)
    {
        if (_session is null) return Handshake(element);
        if (element.Name is not ("message" or "presence" or "iq") || element.Namespace != ComponentNamespaces.Accept)
            return Fail(StreamErrorCondition.UnsupportedStanzaType, $"<{element.Name}/> is not a stanza");
        Route(element);
        return Continue;
    }

    private Task<StreamAction> Handshake(XmlElement element)
    {
        if (element.Name != "handshake" || element.Namespace != ComponentNamespaces.Accept)
            return Fail(StreamErrorCondition.NotAuthorized, "The component must authenticate with <handshake/> first");
        if (!SecretMatches(element.Text.Trim()))
        {
            hosts.FindHost(_host!)?.Session.Log.Warn($"Invalid component handshake for host {_host} from {connection.RemoteAddress}");
            return Fail(StreamErrorCondition.NotAuthorized, "Invalid handshake");
        }
        var session = new ComponentSession(_host!, connection);
        // Prosody's component_conflict_resolve defaults to kick_new: the first connection stays.
        if (!registry.TryAttach(session))
        {
            session.Log.Warn($"A second component tried to connect for {_host} from {connection.RemoteAddress}; refused");
            return Fail(StreamErrorCondition.Conflict, "Component already connected");
        }
        _session = session;
        connection.MarkAuthenticated(StanzaSizeLimit());
        connection.Send(new XmlElement("handshake", ComponentNamespaces.Accept));
        session.Log.Info($"External component connected from {connection.RemoteAddress}");
        return Continue;
    }

    // XEP-0114 §3: lower-case hex SHA-1 of stream id + secret; compared in constant time.
    private bool SecretMatches(string offered)
    {
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(_streamId + _secret)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(offered.ToLowerInvariant()));
    }

    private int StanzaSizeLimit()
    {
        var limit = config.Config.GetNumber(_host, "component_stanza_size_limit") ?? config.Config.GetNumber(_host, "s2s_stanza_size_limit");
        return limit is > 0 and <= int.MaxValue ? (int)limit.Value : DefaultStanzaSizeLimit;
    }

    private void Route(XmlElement stanza)
    {
        var session = _session!;
        var from = stanza.GetAttribute("from");
        if (from is null)
        {
            stanza.SetAttribute("from", session.Host); // as Prosody: the component's own address
        }
        else if (!Jid.TryParse(from, out var jid) || jid.Domain != session.Host)
        {
            // Prosody's validate_from_addresses (default on): a component speaks only for its domain.
            session.Log.Warn($"Component sent a stanza from <{from}>");
            connection.Close(StreamErrorCondition.InvalidFrom, $"Component tried to send from address <{from}>");
            return;
        }
        if (stanza.GetAttribute("to") is null)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.BadRequest("Components MUST specify a 'to' address on stanzas")));
            return;
        }
        ComponentNamespaces.Rename(stanza, ComponentNamespaces.Accept, Namespaces.Client);
        router.Route(session, stanza);
    }

    public Task OnStreamEndAsync()
    {
        connection.Close();
        return Task.CompletedTask;
    }

    public Task OnDisconnectedAsync(string reason)
    {
        if (_session is { } session)
        {
            registry.Detach(session);
            session.Log.Info($"External component disconnected: {reason}");
        }
        return Task.CompletedTask;
    }

    private Task<StreamAction> Fail(StreamErrorCondition condition, string text)
    {
        connection.Close(condition, text);
        return Task.FromResult(StreamAction.Close);
    }

    private static Task<StreamAction> Continue => Task.FromResult(StreamAction.Continue);
}
