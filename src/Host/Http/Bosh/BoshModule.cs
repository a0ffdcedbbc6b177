using LuaXmpp.Hosting;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// mod_bosh: XMPP over BOSH (XEP-0206) is native here (see <see cref="BoshEndpoint"/>); loading
/// the module on any host opens /http-bind on the HTTP listener, as Prosody's does.
/// </summary>
public sealed class BoshModule(Action enable) : INativeModule
{
    public string Name => "bosh";

    public void Load(ModuleContext module) => enable();
}
