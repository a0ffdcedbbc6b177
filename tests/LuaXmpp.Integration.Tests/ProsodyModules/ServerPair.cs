using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// One LuaXmpp and one Prosody 0.12.3 process prepared alike (same config, same module files),
/// started together; a theory case names the server it runs against ("luaxmpp" or "prosody").
/// </summary>
public abstract class ServerPair : IAsyncLifetime
{
    public ServerProcess LuaXmpp { get; private set; } = null!;

    public ServerProcess Prosody { get; private set; } = null!;

    /// <summary>The server a theory case names.</summary>
    public ServerProcess this[string flavor] => flavor switch
    {
        "luaxmpp" => LuaXmpp,
        "prosody" => Prosody,
        _ => throw new XunitException($"unknown server flavor {flavor}"),
    };

    /// <summary>Creates, but does not start, the server of <paramref name="flavor"/> with its accounts.</summary>
    protected abstract Task<ServerProcess> PrepareAsync(ServerFlavor flavor);

    public virtual async Task InitializeAsync()
    {
        var servers = await Task.WhenAll(PrepareAsync(ServerFlavor.LuaXmpp), PrepareAsync(ServerFlavor.Prosody));
        (LuaXmpp, Prosody) = (servers[0], servers[1]);
        await Task.WhenAll(LuaXmpp.StartAsync(), Prosody.StartAsync());
    }

    public virtual async Task DisposeAsync()
    {
        if (LuaXmpp is not null) await LuaXmpp.DisposeAsync();
        if (Prosody is not null) await Prosody.DisposeAsync();
    }
}
