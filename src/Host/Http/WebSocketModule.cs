using LuaXmpp.Hosting;

namespace LuaXmpp.Host.Http;

/// <summary>
/// mod_websocket: XMPP over WebSocket (RFC 7395) is native here (see <see cref="WebSocketBridge"/>);
/// loading the module on any host opens the endpoint on the HTTP listener, as Prosody's does.
/// </summary>
public sealed class WebSocketModule(Action enable) : INativeModule
{
    public string Name => "websocket";

    public void Load(ModuleContext module) => enable();
}
