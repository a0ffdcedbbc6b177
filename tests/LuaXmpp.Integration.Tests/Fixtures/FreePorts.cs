using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// Loopback ports for test servers, taken from below the kernel's ephemeral range and probed
/// by binding them. A port the kernel handed out (bind to port 0) is free only until the next
/// outgoing connection of any process takes it as its source port, and with two test lanes
/// making thousands of loopback connections that happened between probe and the server's
/// bind (a Prosody peer then ran without its s2s listener). Outside the ephemeral range only
/// an explicit bind can take a port, so each test process walks its own slice of the range:
/// <c>LUAXMPP_TEST_PORT_SLICE=k/n</c> (scripts/test.sh gives each lane one), else a slice
/// chosen by process id. All ports of one call are held until all are known, so they differ.
/// </summary>
public static class FreePorts
{
    private const int Lowest = 10000;
    private static readonly (int First, int Count) Slice = ChooseSlice();
    private static int _cursor = -1;

    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var tried = 0; listeners.Count < count; tried++)
            {
                if (tried > Slice.Count)
                {
                    throw new InvalidOperationException($"no {count} free loopback ports in {Slice.First}-{Slice.First + Slice.Count - 1}");
                }

                var port = Slice.First + (int)((uint)Interlocked.Increment(ref _cursor) % (uint)Slice.Count);
                if (TryHold(port) is { } listener)
                {
                    listeners.Add(listener);
                }
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private static TcpListener? TryHold(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static (int First, int Count) ChooseSlice()
    {
        var (low, high) = EphemeralRange();
        // The pool: below the ephemeral range when there is room, else above it.
        var (first, size) = low - Lowest >= 4000 ? (Lowest, low - Lowest) : (high + 1, 65536 - (high + 1));
        var (index, slices) = SliceSetting() ?? (Environment.ProcessId % 16, 16);
        var count = size / slices;
        return (first + index * count, count);
    }

    private static (int Index, int Slices)? SliceSetting()
    {
        var text = Environment.GetEnvironmentVariable("LUAXMPP_TEST_PORT_SLICE");
        var parts = text?.Split('/');
        return parts is [var k, var n] && int.TryParse(k, out var index) && int.TryParse(n, out var slices)
            && slices > 0 && index >= 0 && index < slices
            ? (index, slices)
            : null;
    }

    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0]), int.Parse(parts[1]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (32768, 60999);
        }
    }
}
