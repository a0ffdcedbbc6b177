using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// One real server with a pair of <see cref="Bystanders"/> for a whole test class: the attacks
/// of all its cases land on the same process, so a leak or a wedged loop from one case shows
/// in the next, and the bystanders prove after every case that the others are still served.
/// </summary>
public class SharedServer : IAsyncLifetime
{
    private int _accounts;

    public ServerProcess Server { get; private set; } = null!;

    public Bystanders Bystanders { get; private set; } = null!;

    /// <summary>Config changes for this server, before it starts.</summary>
    protected virtual void Configure(ServerConfig config)
    {
    }

    public async Task InitializeAsync()
    {
        Server = await ServerProcess.StartAsync(null, Configure);
        Bystanders = await Bystanders.StartAsync(Server);
    }

    /// <summary>A fresh account name, so each case logs in as someone new.</summary>
    public string NextUser(string prefix = "mallory") => $"{prefix}{Interlocked.Increment(ref _accounts)}";

    /// <summary>A new client registered in-band and logged in as a fresh account.</summary>
    public async Task<XmppSocketClient> LoginNewAsync(string prefix = "mallory", bool presence = true)
    {
        var client = await XmppSocketClient.ConnectAsync(Server.C2sPort);
        await client.LoginAsync(Server.Host, NextUser(prefix), "secret", register: true, presence: presence);
        return client;
    }

    /// <summary>Waits until the server's log has a line containing <paramref name="text"/> (the log is written asynchronously).</summary>
    public Task<bool> LogContainsAsync(string text, TimeSpan? timeout = null) => ServerLog.ContainsAsync(Server, text, timeout);

    public async Task DisposeAsync()
    {
        if (Bystanders is not null) await Bystanders.DisposeAsync();
        if (Server is not null) await Server.DisposeAsync();
    }
}
