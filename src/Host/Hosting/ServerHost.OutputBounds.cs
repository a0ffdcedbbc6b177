using LuaXmpp.Configuration;
using LuaXmpp.Network;

namespace LuaXmpp.Host.Hosting;

// network_settings for output held for clients that do not read (see OutputBounds and
// ConnectionOptions.SendDeadline): one set of bounds for every client listener and WebSocket.
public sealed partial class ServerHost
{
    private OutputBounds? _outputBounds;

    private OutputBounds SharedOutputBounds() => _outputBounds ??= new OutputBounds(
        ByteSetting("max_send_buffer_per_account", OutputBounds.DefaultPerAccount),
        ByteSetting("max_send_buffer_total", OutputBounds.DefaultTotal));

    // send_timeout, as Prosody's server_epoll names it (seconds); 0 turns the deadline off.
    private TimeSpan? SendDeadline()
    {
        double seconds = ByteSetting("send_timeout", (long)ConnectionOptions.DefaultSendDeadline.TotalSeconds);
        return seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;
    }

    // A non-negative number from network_settings (0: no bound), else the default with one warning.
    private long ByteSetting(string name, long fallback)
    {
        if (_config.Get(null, "network_settings") is not ConfigTable settings) return fallback;
        var value = ConfigValues.AsNumber(settings[name]);
        if (value is null) return fallback;
        if (value < 0 || !double.IsFinite(value.Value))
        {
            _log.Warn($"network_settings.{name} = {value} is not a non-negative number (0 for no limit); using {fallback}");
            return fallback;
        }
        return (long)value;
    }
}
