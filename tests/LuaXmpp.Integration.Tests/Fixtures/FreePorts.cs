using System.Net;
using System.Net.Sockets;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>Asks the OS for unused loopback ports (bind to port 0), holding all of them
/// until every one is known so the ports of one server are distinct.</summary>
public static class FreePorts
{
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
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
}
