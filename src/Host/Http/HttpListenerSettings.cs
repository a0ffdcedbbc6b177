using System.Globalization;
using System.Net;
using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Where and how the HTTP listener listens, read as Prosody 0.12's portmanager and mod_http
/// read it: <c>http_ports</c> (default 5280) and <c>https_ports</c> (default 5281), each on
/// <c>http_interfaces</c> / <c>https_interfaces</c>, else the global <c>interfaces</c>, else
/// every address; <c>http_max_content_size</c> bounds a request body (default 10 MiB).
/// </summary>
public sealed record HttpListenerSettings(
    IReadOnlyList<IPEndPoint> Plain,
    IReadOnlyList<IPEndPoint> Secure,
    long MaxContentSize)
{
    public const long DefaultMaxContentSize = 10 * 1024 * 1024;

    /// <summary>Reads the options; a bad port or address is reported through <paramref name="problem"/>.</summary>
    public static HttpListenerSettings From(ServerConfig config, Action<string> problem)
    {
        var plain = EndPoints(config, "http", 5280, problem);
        var secure = EndPoints(config, "https", 5281, problem);
        var max = config.GetNumber(null, "http_max_content_size") is { } m && m > 0 ? (long)m : DefaultMaxContentSize;
        return new HttpListenerSettings(plain, secure, max);
    }

    private static List<IPEndPoint> EndPoints(ServerConfig config, string service, int defaultPort, Action<string> problem)
    {
        var interfaces = config.GetStringList(null, service + "_interfaces") is { Count: > 0 } own ? own
            : config.GetStringList(null, "interfaces") is { Count: > 0 } global ? global
            : ["*"];
        // Prosody takes a list or a single value (http_ports = 5280).
        IReadOnlyList<string> ports = config.Get(null, service + "_ports") switch
        {
            null => [defaultPort.ToString(CultureInfo.InvariantCulture)],
            ConfigTable table => ConfigValues.AsStringList(table),
            var single => ConfigValues.AsString(single) is { } one ? [one] : [],
        };
        var result = new List<IPEndPoint>();
        foreach (var port in ports)
        {
            if (!int.TryParse(port, out var number) || number is < 1 or > 65535)
            {
                problem($"{service}_ports: '{port}' is not a port number (1-65535)");
                continue;
            }
            foreach (var address in interfaces)
            {
                if (Address(address) is { } ip) result.Add(new IPEndPoint(ip, number));
                else problem($"{service}_interfaces: '{address}' is not an IP address");
            }
        }
        return result;
    }

    private static IPAddress? Address(string text) => text switch
    {
        "*" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.TryParse(text, out var ip) ? ip : null,
    };
}
