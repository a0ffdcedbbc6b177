using System.Net;
using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Where and how the HTTP listener listens, read as Prosody 0.12's portmanager and mod_http
/// read it: <c>http_ports</c> (default 5280) and <c>https_ports</c> (default 5281), each on
/// <c>http_interfaces</c> / <c>https_interfaces</c>, else the global <c>interfaces</c>, else
/// every address (<see cref="ListenerOptions.Service"/>); <c>http_max_content_size</c> bounds a
/// request body (default 10 MiB).
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

    private static IReadOnlyList<IPEndPoint> EndPoints(ServerConfig config, string service, int defaultPort, Action<string> problem)
    {
        var endpoints = ListenerOptions.Service(config, service, [defaultPort], ListenerOptions.GlobalInterfaces(config), out var error);
        if (error is not null) problem(error);
        return endpoints.Select(e => e.EndPoint).ToArray();
    }
}
