using System.Net;
using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Where and how the HTTP listener listens, read as Prosody 0.12's portmanager and mod_http
/// read it: <c>http_ports</c> (default 5280) and <c>https_ports</c> (default 5281), each on
/// <c>http_interfaces</c> / <c>https_interfaces</c>, else the global <c>interfaces</c>, else
/// every address (<see cref="ListenerOptions.Service"/>); <c>http_max_content_size</c> bounds a
/// request body (default 10 MiB). Prosody has no options for the rest, so they are LuaXmpp's:
/// <c>http_max_connections_per_ip</c> (256; 0: none), <c>http_max_header_size</c> (all header
/// lines of one request, 32 KiB: 431 past it), <c>http_idle_timeout</c> (an idle keep-alive
/// connection is closed after 60 s), <c>http_headers_timeout</c> (a request's headers must be
/// complete within 30 s: slow senders get 408), <c>http_handler_timeout</c> (a Lua handler that has
/// not started its answer after 60 s gets the client a 504).
/// </summary>
public sealed record HttpListenerSettings(
    IReadOnlyList<IPEndPoint> Plain,
    IReadOnlyList<IPEndPoint> Secure,
    long MaxContentSize)
{
    public const long DefaultMaxContentSize = 10 * 1024 * 1024;

    public int MaxConnectionsPerIp { get; init; } = 256;

    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan HeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan HandlerTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Reads the options; a bad port or address is reported through <paramref name="problem"/>.</summary>
    public static HttpListenerSettings From(ServerConfig config, Action<string> problem)
    {
        var plain = EndPoints(config, "http", 5280, problem);
        var secure = EndPoints(config, "https", 5281, problem);
        var max = config.GetNumber(null, "http_max_content_size") is { } m && m > 0 ? (long)m : DefaultMaxContentSize;
        var defaults = new HttpListenerSettings(plain, secure, max);
        return defaults with
        {
            MaxConnectionsPerIp = config.GetNumber(null, "http_max_connections_per_ip") is { } c && c >= 0 ? (int)c : defaults.MaxConnectionsPerIp,
            MaxHeaderBytes = config.GetNumber(null, "http_max_header_size") is { } h && h >= 1024 ? (int)h : defaults.MaxHeaderBytes,
            IdleTimeout = Seconds(config, "http_idle_timeout", defaults.IdleTimeout),
            HeadersTimeout = Seconds(config, "http_headers_timeout", defaults.HeadersTimeout),
            HandlerTimeout = Seconds(config, "http_handler_timeout", defaults.HandlerTimeout),
        };
    }

    private static TimeSpan Seconds(ServerConfig config, string key, TimeSpan fallback) =>
        config.GetNumber(null, key) is { } n && n > 0 ? TimeSpan.FromSeconds(n) : fallback;

    private static IReadOnlyList<IPEndPoint> EndPoints(ServerConfig config, string service, int defaultPort, Action<string> problem)
    {
        var endpoints = ListenerOptions.Service(config, service, [defaultPort], ListenerOptions.GlobalInterfaces(config), out var error);
        if (error is not null) problem(error);
        return endpoints.Select(e => e.EndPoint).ToArray();
    }
}
