namespace LuaXmpp.Configuration;

/// <summary>
/// The evaluated prosody.cfg.lua: the global section and every VirtualHost/Component section,
/// with Prosody's lookup rule (a host option falls back to the global one).
/// </summary>
/// <remarks>
/// Option values are plain C# values converted from Lua: string, long (integral numbers), double,
/// bool, <see cref="ConfigTable"/> for Lua tables. Unknown options are kept as they are, for modules.
/// </remarks>
public sealed class ServerConfig
{
    public ServerConfig(string? path, IReadOnlyDictionary<string, object?> global, IReadOnlyList<HostConfig> hosts)
    {
        Path = path;
        Global = global;
        Hosts = hosts;
    }

    /// <summary>The main config file, null for a config built in code.</summary>
    public string? Path { get; }

    public IReadOnlyDictionary<string, object?> Global { get; }

    /// <summary>Hosts in the order the file declares them, enabled or not.</summary>
    public IReadOnlyList<HostConfig> Hosts { get; }

    public HostConfig? FindHost(string name) => Hosts.FirstOrDefault(h => h.Name == name);

    /// <summary>The option for a host (falling back to the global section), or the global one for host null or "*".</summary>
    public object? Get(string? host, string key)
    {
        if (host is not null && host != "*" && FindHost(host) is { } h && h.Options.TryGetValue(key, out var v)) return v;
        return Global.TryGetValue(key, out var g) ? g : null;
    }

    public string? GetString(string? host, string key) => ConfigValues.AsString(Get(host, key));

    public string GetString(string? host, string key, string fallback) => GetString(host, key) ?? fallback;

    public double? GetNumber(string? host, string key) => ConfigValues.AsNumber(Get(host, key));

    public bool GetBoolean(string? host, string key, bool fallback) => ConfigValues.AsBoolean(Get(host, key)) ?? fallback;

    /// <summary>A list option: a Lua array of strings (or a single string).</summary>
    public IReadOnlyList<string> GetStringList(string? host, string key) => ConfigValues.AsStringList(Get(host, key));

    /// <summary>A built-in config: one VirtualHost with the given options on the global section.</summary>
    public static ServerConfig Create(IReadOnlyDictionary<string, object?> global, params string[] hosts) =>
        new(null, global, hosts.Select(h => new HostConfig(h, HostKind.VirtualHost, null, new Dictionary<string, object?>())).ToArray());
}
