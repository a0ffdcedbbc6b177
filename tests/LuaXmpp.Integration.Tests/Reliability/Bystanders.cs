using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Two authenticated sessions that keep exchanging numbered chat messages (each waits for the
/// previous one to arrive) while a test attacks the same server. Proves that nothing else
/// breaks: every message sent meanwhile arrives, in order, and none goes missing.
/// </summary>
public sealed class Bystanders : IAsyncDisposable
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(15);

    private readonly XmppSocketClient _alice;
    private readonly XmppSocketClient _bob;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private int _next;

    private Bystanders(XmppSocketClient alice, XmppSocketClient bob)
    {
        _alice = alice;
        _bob = bob;
    }

    /// <summary>Messages that went from one bystander to the other.</summary>
    public int Delivered { get; private set; }

    /// <summary>Messages that did not arrive (or arrived out of order, or were not plain deliveries).</summary>
    public List<string> Problems { get; } = [];

    /// <summary>
    /// Registers (in-band) and logs in two fresh accounts with the given name prefix; with
    /// <paramref name="register"/> false, logs in to accounts an earlier call registered
    /// (e.g. after a restart on storage that no longer accepts writes).
    /// </summary>
    public static async Task<Bystanders> StartAsync(ServerProcess server, string prefix = "bystander", bool register = true)
    {
        var alice = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await alice.LoginAsync(server.Host, prefix + "-a", "pw-a", register: register);
        var bob = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await bob.LoginAsync(server.Host, prefix + "-b", "pw-b", register: register);
        return new Bystanders(alice, bob);
    }

    /// <summary>Starts exchanging in the background until <see cref="StopAsync"/>.</summary>
    public void Begin()
    {
        _stop = new CancellationTokenSource();
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Stops after a few more rounds, so the exchange overlaps whatever happened before.</summary>
    public async Task StopAsync(int extraRounds = 2)
    {
        if (_stop is null || _loop is null) return;
        int target = Delivered + 2 * extraRounds;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Delivered < target && Problems.Count == 0 && !_loop.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
        _stop = null;
    }

    /// <summary>One round trip outside the background loop.</summary>
    public async Task ExchangeOnceAsync()
    {
        await SendAndExpectAsync(_alice, _bob);
        await SendAndExpectAsync(_bob, _alice);
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested && Problems.Count == 0)
            {
                await ExchangeOnceAsync();
            }
        }
        catch (Exception e)
        {
            Problems.Add("bystander loop failed: " + e.Message);
        }
    }

    private async Task SendAndExpectAsync(XmppSocketClient from, XmppSocketClient to)
    {
        int n = Interlocked.Increment(ref _next);
        string body = "bystander " + n;
        await from.SendAsync($"<message to='{to.Jid}' type='chat' id='b{n}'><body>{body}</body></message>");
        var skipped = new List<XElement>();
        XElement got;
        try
        {
            got = await to.WaitForAsync(e => e.Name.LocalName == "message", "message " + n, DeliveryTimeout, skipped);
        }
        catch (Exception e)
        {
            Problems.Add($"lost: {body} ({e.Message})");
            return;
        }

        if (got.Element(XmppSocketClient.Client + "body")?.Value != body || (string?)got.Attribute("type") == "error")
        {
            Problems.Add($"expected '{body}', got {got}");
            return;
        }

        Delivered++;
    }

    public async ValueTask DisposeAsync()
    {
        _stop?.Cancel();
        if (_loop is not null) await _loop;
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
    }
}
