using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Sessions;
using LuaXmpp.Sessions.StreamManagement;
using LuaXmpp.Xml;

namespace LuaXmpp.LuaBridge.Runtime;

// The natives modules/mod_smacks.lua drives XEP-0198 with (prefix sm_): the per-stanza work runs
// in StreamManagementController; Lua decides when to enable, hibernate, resume and expire.
// Every function takes a session table first and never raises (NativeTable turns exceptions
// into nil, message).
public sealed partial class LuaRuntime
{
    private void RegisterStreamManagementNatives(NativeTable n)
    {
        n.Add("sm_enable", SmEnable);
        n.Add("sm_info", SmInfo);
        n.Add("sm_queue", SmQueue);
        n.Add("sm_take_unacked", SmTakeUnacked);
        n.Add("sm_hibernate", SmHibernate);
        n.Add("sm_check_resume", SmCheckResume);
        n.Add("sm_resume", SmResume);
        n.Add("sm_resync", SmResync);
        n.Add("sm_request_ack", SmRequestAck);
        n.Add("sm_set_inactive", SmSetInactive);
        n.Add("sm_set_resumable", SmSetResumable);
        n.Add("sm_set_counters", SmSetCounters);
    }

    private ClientSession RequireClient(Lua lua, int index) =>
        SessionOf(lua, index) as ClientSession ?? throw new ArgumentException("client session expected");

    private StreamManagementController RequireManaged(Lua lua, int index) =>
        RequireClient(lua, index).StreamManagement ?? throw new ArgumentException("stream management is not enabled on this session");

    // sm_enable(session, xmlns, resumable, max_queue, max_unacked, max_inactive_unacked, max_ack_delay)
    private int SmEnable(Lua lua)
    {
        var session = RequireClient(lua, 1);
        var ns = lua.OptString(2) ?? StreamManagementNamespaces.V3;
        if (!StreamManagementNamespaces.IsStreamManagement(ns)) throw new ArgumentException("not a stream management namespace: " + ns);
        if (session.StreamManagement is { Enabled: true }) throw new ArgumentException("stream management is already enabled");
        var host = _server.FindHost(session.Host) ?? throw new ArgumentException("unknown host " + session.Host);
        int maxQueue = NumberOr(lua, 4, 500);
        var limits = new StreamManagementLimits(
            MaxQueueSize: maxQueue,
            MaxQueueBytes: StreamManagementLimits.QueueBytesFor(maxQueue),
            MaxUnackedStanzas: NumberOr(lua, 5, 0),
            MaxInactiveUnackedStanzas: NumberOr(lua, 6, 256),
            MaxAckDelay: TimeSpan.FromSeconds(Math.Max(0, lua.Type(7) == LuaType.Number ? lua.ToNumber(7) : 30)));
        var controller = new StreamManagementController(session, ns, _server.Loop, host.Events, limits)
        {
            Resumable = lua.ToBoolean(3),
        };
        controller.Enable();
        lua.PushBoolean(true);
        return 1;
    }

    private static int NumberOr(Lua lua, int index, int fallback) =>
        lua.Type(index) == LuaType.Number ? (int)Math.Clamp(lua.ToNumber(index), 0, int.MaxValue) : fallback;

    // sm_info(session) → nil when not enabled, else a table of the counters and flags.
    private int SmInfo(Lua lua)
    {
        if (RequireClient(lua, 1).StreamManagement is not { } sm)
        {
            lua.PushNil();
            return 1;
        }
        var s = sm.State;
        lua.CreateTable(0, 12);
        SetField(lua, "xmlns", sm.Namespace);
        SetField(lua, "enabled", sm.Enabled);
        SetField(lua, "resumable", sm.Resumable);
        SetField(lua, "hibernating", sm.Hibernating);
        SetField(lua, "awaiting_ack", sm.AwaitingAck);
        SetField(lua, "inactive", sm.Inactive);
        SetField(lua, "overflowed", s.Overflowed);
        SetInteger(lua, "h", s.Handled);
        SetInteger(lua, "sent", s.Sent);
        SetInteger(lua, "acked", s.Acked);
        SetInteger(lua, "unacked", s.Unacked);
        SetInteger(lua, "queued", s.QueuedCount);
        return 1;
    }

    private static void SetField(Lua lua, string key, object value)
    {
        switch (value)
        {
            case bool b: lua.PushBoolean(b); break;
            case string str: lua.PushString(str); break;
        }
        lua.RawSetField(-2, key);
    }

    private static void SetInteger(Lua lua, string key, long value)
    {
        lua.PushInteger(value);
        lua.RawSetField(-2, key);
    }

    // sm_queue(session) → array of the unacked stanza copies (Prosody's queue:table()).
    private int SmQueue(Lua lua)
    {
        var list = RequireClient(lua, 1).StreamManagement?.State.Unacknowledged() ?? [];
        PushList(lua, list, e => _stanzas.Push(lua, e));
        return 1;
    }

    // sm_take_unacked(session) → array; stream management is off afterwards (the session is ending).
    private int SmTakeUnacked(Lua lua)
    {
        var sm = RequireClient(lua, 1).StreamManagement;
        var list = sm?.Disable() ?? [];
        PushList(lua, list, e => _stanzas.Push(lua, e));
        return 1;
    }

    private int SmHibernate(Lua lua)
    {
        RequireManaged(lua, 1).Hibernate();
        lua.PushBoolean(true);
        return 1;
    }

    // sm_check_resume(original, h) → true, or false, condition, text.
    private int SmCheckResume(Lua lua)
    {
        var sm = RequireManaged(lua, 1);
        var problem = sm.CheckResume(ParseH(lua, 2));
        if (problem is null)
        {
            lua.PushBoolean(true);
            return 1;
        }
        lua.PushBoolean(false);
        lua.PushString(problem.Value.Condition);
        lua.PushString(problem.Value.Text);
        return 3;
    }

    // sm_resume(original, resuming, h, previd[, inline]): the transplant (XEP-0198 §5); check
    // first. <resumed/> is queued at once; the re-send follows once it is written, and
    // "smacks-hibernation-end" fires after the re-send (from C#, with resuming as the origin).
    // Inline (SASL2): no <resumed/> and no re-send here; sm_resync does that after <success/>.
    private int SmResume(Lua lua)
    {
        var sm = RequireManaged(lua, 1);
        var resuming = RequireClient(lua, 2);
        var h = ParseH(lua, 3);
        if (sm.CheckResume(h) is { } problem) throw new ArgumentException(problem.Text);
        sm.Resume(resuming, h, lua.OptString(4) ?? "", announce: !lua.ToBoolean(5));
        // The fresh session only carried the connection; it never bound, so this fires nothing.
        _server.Sessions.Destroy(resuming, "Resumed another session");
        lua.PushBoolean(true);
        return 1;
    }

    // sm_resync(original): the re-send of an inline (SASL2) resume, once <success/> is queued.
    private int SmResync(Lua lua)
    {
        RequireManaged(lua, 1).Resync();
        lua.PushBoolean(true);
        return 1;
    }

    private static uint ParseH(Lua lua, int index)
    {
        if (lua.Type(index) == LuaType.Number) return unchecked((uint)(long)lua.ToNumber(index));
        return uint.TryParse(lua.OptString(index), out var h) ? h : throw new ArgumentException("invalid h");
    }

    private int SmRequestAck(Lua lua)
    {
        RequireClient(lua, 1).StreamManagement?.CheckAck(lua.ToBoolean(2));
        lua.PushBoolean(true);
        return 1;
    }

    private int SmSetInactive(Lua lua)
    {
        if (RequireClient(lua, 1).StreamManagement is { } sm) sm.Inactive = lua.ToBoolean(2);
        lua.PushBoolean(true);
        return 1;
    }

    private int SmSetResumable(Lua lua)
    {
        if (RequireClient(lua, 1).StreamManagement is { } sm) sm.Resumable = lua.ToBoolean(2);
        lua.PushBoolean(true);
        return 1;
    }

    // sm_set_counters(session, h_in, h_out): diagnostics and the 2^32 wrap-around tests.
    private int SmSetCounters(Lua lua)
    {
        RequireManaged(lua, 1).State.SetCounters(ParseH(lua, 2), ParseH(lua, 3));
        lua.PushBoolean(true);
        return 1;
    }
}
