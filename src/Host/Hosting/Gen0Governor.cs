namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Keeps the GC's youngest generation small. The runtime sizes gen0's allocation budget from the
/// CPU's last-level cache, so on a machine (or VM) reporting a large L3 (260 MiB on the 2-core
/// development VM) the first gen0 collection comes only after ~90 MiB were allocated: a burst of
/// large stanzas then raises RSS by that much, however little of it is live (issue 16, item 2:
/// +100 MiB within 2 s of a 20 KB-message flood, the GC heap's live part ~40 MiB). The knob that
/// sets the budget (DOTNET_GCgen0size) is read from the environment only, not runtimeconfig.json,
/// so the server enforces its own: every <see cref="Period"/>, if over <see cref="Budget"/> bytes
/// were allocated since the last gen0 collection, it collects gen0 (a few ms: only survivors are
/// copied). An operator who sets DOTNET_GCgen0size keeps the runtime's own pacing.
/// </summary>
public sealed class Gen0Governor : IDisposable
{
    public const long Budget = 16L * 1024 * 1024;

    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    private readonly Timer _timer;
    private long _allocatedAtCollection;
    private int _collections;

    private Gen0Governor()
    {
        _collections = GC.CollectionCount(0);
        _allocatedAtCollection = GC.GetTotalAllocatedBytes();
        _timer = new Timer(_ => Tick(), null, Period, Period);
    }

    /// <summary>Starts the governor, unless the environment sets gen0's budget itself.</summary>
    public static Gen0Governor? Start() =>
        Environment.GetEnvironmentVariable("DOTNET_GCgen0size") is null && Environment.GetEnvironmentVariable("COMPlus_GCgen0size") is null
            ? new Gen0Governor()
            : null;

    private void Tick()
    {
        long allocated = GC.GetTotalAllocatedBytes();
        int collections = GC.CollectionCount(0);
        if (collections != _collections)
        {
            // The runtime collected by itself meanwhile: count from (about) then.
            (_collections, _allocatedAtCollection) = (collections, allocated);
            return;
        }
        if (allocated - _allocatedAtCollection < Budget) return;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        (_collections, _allocatedAtCollection) = (GC.CollectionCount(0), allocated);
    }

    public void Dispose() => _timer.Dispose();
}
