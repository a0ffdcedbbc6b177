using LuaXmpp.Events;

namespace LuaXmpp.C2s;

public sealed partial class ClientStreamHandler
{
    // Prosody's mod_c2s fires "c2s-ondrain" when a connection's write buffer empties;
    // mod_csi_simple waits for it after a flush before holding again. Our connection reports a
    // drain only after writes were resumed (ClientConnection.Drained), the one case modules use.
    private void OnDrained()
    {
        if (!OwnsSession || _session.Destroyed) return;
        var e = new EventData(_session);
        e["session"] = _session;
        _host?.Events.Fire("c2s-ondrain", e);
    }
}
