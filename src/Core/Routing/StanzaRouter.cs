using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Routing;

/// <summary>
/// Prosody's core/stanza_router.lua: <see cref="ProcessAsync"/> (core_process_stanza) takes a
/// stanza a client sent, <see cref="PostAsync"/> (core_post_stanza) fires the delivery events on
/// the destination host, <see cref="RouteAsync"/> (core_route_stanza) delivers stanzas the
/// server originates. Loop-thread only.
/// </summary>
/// <remarks>
/// One pass per stanza, as Prosody runs it inside the session's runner: any handler may wait
/// (a Lua handler in its runner, a C# handler by returning a Task), and the pass — later
/// handlers, pre-events, delivery events, the default replies — goes on when the wait ends.
/// A pass in which nothing waits completes synchronously and allocates nothing. The
/// synchronous methods start a pass without waiting for its end.
/// </remarks>
/// <param name="hosts">The hosts that are up, by name (Prosody's <c>hosts</c>).</param>
/// <param name="sessions">The session registry deliveries look up (Prosody's full and bare sessions).</param>
public sealed partial class StanzaRouter(Func<string, HostContext?> hosts, SessionManager sessions)
{
    public HostContext? FindHost(string name) => hosts(name);

    // Metrics (luaxmpp_routed_stanzas): plain fields, since only the loop thread routes and
    // the metrics snapshot is read on the loop too.
    private long _fromSessions;
    private long _fromServer;

    /// <summary>Stanzas and nonzas taken from sessions (core_process_stanza) so far.</summary>
    public long ProcessedStanzas => _fromSessions;

    /// <summary>Stanzas the server or its modules originated (core_route_stanza) so far.</summary>
    public long RoutedStanzas => _fromServer;

    /// <summary>A stanza received on a client session (after stream management and filters); completes when its pass has.</summary>
    public ValueTask ProcessAsync(Session origin, XmlElement stanza) => ProcessCore(origin, stanza);

    /// <summary>Fires "&lt;name&gt;/&lt;to-type&gt;" on the destination host (with "pre-" events first when asked). True if something handled it.</summary>
    public ValueTask<bool> PostAsync(Session origin, XmlElement stanza, bool preEvents = false) => PostCore(origin, stanza, preEvents);

    /// <summary>Delivers a stanza the server or a module originates.</summary>
    public ValueTask RouteAsync(Session origin, XmlElement stanza) => RouteCore(origin, stanza);

    /// <summary><see cref="ProcessAsync"/> without waiting for the end of the pass.</summary>
    public void Process(Session origin, XmlElement stanza) => Pending.Forget(ProcessCore(origin, stanza));

    /// <summary><see cref="PostAsync"/> without waiting: true if handled, or if the pass goes on after a wait.</summary>
    public bool Post(Session origin, XmlElement stanza, bool preEvents = false)
    {
        var pass = PostCore(origin, stanza, preEvents);
        if (pass.IsCompletedSuccessfully) return pass.Result;
        Pending.Forget(pass);
        return true;
    }

    /// <summary><see cref="RouteAsync"/> without waiting for the end of the pass.</summary>
    public void Route(Session origin, XmlElement stanza) => Pending.Forget(RouteCore(origin, stanza));
}
