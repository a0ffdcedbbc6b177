using System.Globalization;
using System.Net;

namespace LuaXmpp.Configuration;

/// <summary>One address and port a listener binds, with the option that asked for it.</summary>
public sealed record ListenEndpoint(string Option, IPEndPoint EndPoint, bool DirectTls);

/// <summary>
/// The c2s listening endpoints, read as Prosody 0.12's portmanager reads them: <c>c2s_ports</c>
/// and <c>c2s_direct_tls_ports</c> (legacy_ssl_ports as the older name) may be a number, a
/// string or a list; interfaces come from <c>c2s_interfaces</c>, else <c>interfaces</c>, else
/// all IPv4 addresses. A value that is not a port (1-65535) or an address is an error naming
/// the option, never skipped.
/// </summary>
public static class ListenerOptions
{
    public const int DefaultC2sPort = 5222;

    /// <summary>The endpoints, or the first problem as one line naming the option.</summary>
    public static IReadOnlyList<ListenEndpoint> C2s(ServerConfig config, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        error = null;
        var (interfaceOption, interfaces) = Interfaces(config);
        var addresses = new List<IPAddress>();
        foreach (var text in interfaces)
        {
            if (ParseAddress(text) is { } address) addresses.Add(address);
            else
            {
                error = $"{interfaceOption}: \"{text}\" is not an IP address (use \"*\" for all IPv4, \"::\" for all IPv6 addresses)";
                return [];
            }
        }
        var endpoints = new List<ListenEndpoint>();
        var plain = Ports(config, "c2s_ports", [DefaultC2sPort], ref error);
        var tlsOption = config.Get(null, "c2s_direct_tls_ports") is null && config.Get(null, "legacy_ssl_ports") is not null
            ? "legacy_ssl_ports" : "c2s_direct_tls_ports";
        var tls = Ports(config, tlsOption, [], ref error);
        if (error is not null) return [];
        foreach (var address in addresses)
        {
            endpoints.AddRange(plain.Select(p => new ListenEndpoint("c2s_ports", new IPEndPoint(address, p), false)));
            endpoints.AddRange(tls.Select(p => new ListenEndpoint(tlsOption, new IPEndPoint(address, p), true)));
        }
        var clash = endpoints.GroupBy(e => e.EndPoint).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            error = $"{string.Join(" and ", clash.Select(e => e.Option).Distinct())}: port {clash.Key.Port} is configured twice on {clash.Key.Address}";
            return [];
        }
        return endpoints;
    }

    /// <summary>
    /// Another service's endpoints (http, https, component), read the same way: <c>SERVICE_ports</c>
    /// (a number, a string or a list; <paramref name="defaultPorts"/> when absent) on
    /// <c>SERVICE_interfaces</c>, else <paramref name="defaultInterfaces"/>. The first problem is
    /// one line naming the option.
    /// </summary>
    public static IReadOnlyList<ListenEndpoint> Service(
        ServerConfig config, string service, int[] defaultPorts, IReadOnlyList<string> defaultInterfaces, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        error = null;
        var interfaceOption = service + "_interfaces";
        var interfaces = config.Get(null, interfaceOption) is { } value ? ConfigValues.AsStringList(value) : defaultInterfaces;
        var portOption = service + "_ports";
        var ports = Ports(config, portOption, defaultPorts, ref error);
        if (error is not null) return [];
        var endpoints = new List<ListenEndpoint>();
        foreach (var text in interfaces)
        {
            if (ParseAddress(text) is not { } address)
            {
                error = $"{interfaceOption}: \"{text}\" is not an IP address";
                return [];
            }
            endpoints.AddRange(ports.Select(p => new ListenEndpoint(portOption, new IPEndPoint(address, p), false)));
        }
        return endpoints;
    }

    /// <summary>The global <c>interfaces</c> option, or every IPv4 address (Prosody's default for public services).</summary>
    public static IReadOnlyList<string> GlobalInterfaces(ServerConfig config) =>
        config.Get(null, "interfaces") is { } value ? ConfigValues.AsStringList(value) : ["*"];

    private static (string Option, IReadOnlyList<string> Values) Interfaces(ServerConfig config)
    {
        foreach (var option in new[] { "c2s_interfaces", "c2s_interface", "interfaces", "interface" })
        {
            if (config.Get(null, option) is { } value) return (option, ConfigValues.AsStringList(value));
        }
        return ("interfaces", ["*"]);
    }

    private static IPAddress? ParseAddress(string text) => text switch
    {
        "*" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.TryParse(text, out var ip) ? ip : null,
    };

    private static IReadOnlyList<int> Ports(ServerConfig config, string option, int[] fallback, ref string? error)
    {
        var value = config.Get(null, option);
        if (value is null) return fallback;
        var items = value is ConfigTable table ? table.Array.Concat(table.Hash.Values) : [value];
        var ports = new List<int>();
        foreach (var item in items)
        {
            if (ToPort(item) is { } port) ports.Add(port);
            else
            {
                error ??= $"{option}: {Show(item)} is not a port number (1-65535)";
                return [];
            }
        }
        return ports.Distinct().ToArray();
    }

    private static int? ToPort(object? item)
    {
        double? number = item switch
        {
            long l => l,
            double d => d,
            string s when double.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        };
        return number is { } n && n == Math.Floor(n) && n is >= 1 and <= 65535 ? (int)n : null;
    }

    private static string Show(object? item) => item switch
    {
        string s => $"\"{s}\"",
        ConfigTable => "a table",
        null => "nil",
        _ => ConfigValues.AsString(item) ?? item.GetType().Name,
    };
}
