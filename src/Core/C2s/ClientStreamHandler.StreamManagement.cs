using System.Diagnostics.CodeAnalysis;
using LuaXmpp.Network;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;

namespace LuaXmpp.C2s;

// XEP-0198 fast path: once mod_smacks enabled stream management on the session, <r/> and <a/>
// are answered here without entering Lua, and every inbound stanza is counted. <enable/> and
// <resume/> still go to the router ("stanza/urn:xmpp:sm:3:enable"), where mod_smacks decides.
public sealed partial class ClientStreamHandler
{
    /// <summary>Handles &lt;r/&gt; and &lt;a/&gt; on a stream-managed session; counts stanzas. True if consumed.</summary>
    private bool TryHandleStreamManagement(XmlElement element, out Task<StreamAction> result)
    {
        result = Continue;
        // The session was resumed on another connection (XEP-0198 §5) while this one still had
        // input in flight: the resume closed this connection, but an element already handed to
        // the loop may run after it. It must not count or route as the session any more — the
        // <resumed h/> sent on the new connection did not include it, so the client sends it again.
        if (!OwnsSession) return true;
        if (_session.StreamManagement is not { Enabled: true } sm) return false;
        if (StreamManagementNamespaces.IsStreamManagement(element.Namespace))
        {
            switch (element.Name)
            {
                case "r":
                    sm.AnswerRequest();
                    return true;
                case "a":
                    if (sm.HandleAck(element) is { } error) result = Fail(error.Condition, error.Text);
                    return true;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>
    /// The stream management state that counts this element once its pass has finished (XEP-0198
    /// §4: h is the number of stanzas handled), or null when stream management is off.
    /// </summary>
    private StreamManagementController? CountedInbound(XmlElement element) =>
        _session?.StreamManagement is { Enabled: true } sm && StreamManagementController.IsStanza(element) ? sm : null;

    /// <summary>After a resume moved this connection to the hibernated session, continue as that session.</summary>
    private void AdoptResumedSession()
    {
        while (_session?.MovedTo is { } target)
        {
            _session = target;
        }
    }

    /// <summary>
    /// A session that another connection resumed no longer belongs to this one: its end must
    /// not end (or hibernate) the session. Only the session's current connection owns it — not
    /// "any connection while it has none": after a resume onto a connection that dropped in turn,
    /// the session hibernates (no connection) while the connection it was first resumed from may
    /// still be closing, and that late disconnect destroyed the hibernating session.
    /// </summary>
    [MemberNotNullWhen(true, nameof(_session))]
    private bool OwnsSession
    {
        get
        {
            AdoptResumedSession();
            return _session is not null && ReferenceEquals(_session.Connection, _connection);
        }
    }
}
