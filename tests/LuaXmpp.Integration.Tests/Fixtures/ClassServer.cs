namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// One server with the default config for a whole test class (xunit class fixture), for classes
/// whose cases each open their own connections and leave no state another case reads: the start
/// and stop (~1 s) is paid once, not per case. A case that needs its own config starts its own.
/// </summary>
public sealed class ClassServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ServerProcess.StartAsync(null);

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}
