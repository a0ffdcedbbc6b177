using System.Net.Sockets;
using System.Text;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// sd_notify(3) without libsystemd: one datagram to the unix socket in NOTIFY_SOCKET ("@" means
/// the abstract namespace), for Type=notify units: READY=1, RELOADING=1, STOPPING=1.
/// </summary>
public static class SystemdNotify
{
    public static void Send(string state)
    {
        var target = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(target)) return;
        if (target[0] == '@') target = "\0" + target[1..];
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(target));
            socket.Send(Encoding.UTF8.GetBytes(state));
        }
        catch (SocketException)
        {
            // systemd went away or the variable is stale; readiness is advisory.
        }
    }
}
