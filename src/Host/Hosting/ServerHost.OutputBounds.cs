using LuaXmpp.Configuration;
using LuaXmpp.Network;

namespace LuaXmpp.Host.Hosting;

// network_settings for output held for clients that do not read (see OutputBounds and
// ConnectionOptions.SendDeadline): one set of bounds for every client listener and WebSocket.
public sealed partial class ServerHost
{
    private OutputBounds? _outputBounds;

    private OutputBounds SharedOutputBounds() => _outputBounds ??= new OutputBounds(
        NetworkNumber("max_send_buffer_per_account", OutputBounds.DefaultPerAccount, min: 0, max: long.MaxValue),
        NetworkNumber("max_send_buffer_total", OutputBounds.DefaultTotal, min: 0, max: long.MaxValue));

    // send_timeout, as Prosody's server_epoll names it (seconds); 0 turns the deadline off.
    private TimeSpan? SendDeadline()
    {
        double seconds = NetworkNumber("send_timeout", (long)ConnectionOptions.DefaultSendDeadline.TotalSeconds, min: 0, max: int.MaxValue);
        return seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;
    }
}
