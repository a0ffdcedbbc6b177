using System.Diagnostics;

namespace LuaXmpp.Bench.LoadGen.Measure;

/// <summary>Wall time and CPU seconds of server and generator over one measured interval.</summary>
public sealed class CpuMeter
{
    private readonly int _pid;
    private readonly double _server0;
    private readonly double _own0;
    private readonly long _start = Stopwatch.GetTimestamp();

    public CpuMeter(int pid)
    {
        _pid = pid;
        _server0 = ProcessStats.ServerCpuSeconds(pid);
        _own0 = ProcessStats.OwnCpuSeconds();
    }

    public (double Wall, double ServerCpu, double OwnCpu) Stop() =>
        (Stopwatch.GetElapsedTime(_start).TotalSeconds,
         ProcessStats.ServerCpuSeconds(_pid) - _server0,
         ProcessStats.OwnCpuSeconds() - _own0);
}
