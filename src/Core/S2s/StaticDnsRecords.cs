using System.Net;
using LuaXmpp.Configuration;

namespace LuaXmpp.S2s;

/// <summary>One SRV target (RFC 2782).</summary>
public sealed record SrvTarget(int Priority, int Weight, int Port, string Host);

/// <summary>
/// The records an operator gives Prosody's resolver through <c>unbound = { options = { ... } }</c>,
/// which Prosody hands to libunbound: "local-data:" records (SRV, A, AAAA; one string or a
/// list) answer for their names, and a "local-zone:" of type static makes every other name in
/// the zone nonexistent, so no query leaves the machine for it.
/// </summary>
public sealed class StaticDnsRecords
{
    private readonly Dictionary<string, List<SrvTarget>> _srv = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<IPAddress>> _addresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _staticZones = new();

    public static StaticDnsRecords From(ServerConfig config, Action<string>? warn = null)
    {
        var records = new StaticDnsRecords();
        if (config.Get(null, "unbound") is not ConfigTable unbound || unbound["options"] is not ConfigTable options) return records;
        foreach (var text in Values(options["local-data:"]).Concat(Values(options["local-data"])))
        {
            if (!records.AddRecord(text)) warn?.Invoke($"unbound local-data: cannot read \"{text}\" (SRV, A and AAAA records are used)");
        }
        foreach (var text in Values(options["local-zone:"]).Concat(Values(options["local-zone"])))
        {
            var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[1] is "static" or "refuse" or "always_nxdomain") records._staticZones.Add(Normalize(parts[0]));
        }
        return records;
    }

    private static IEnumerable<string> Values(object? value) => value switch
    {
        string s => [s],
        ConfigTable t => t.Array.Concat(t.Hash.Values).Select(ConfigValues.AsString).OfType<string>(),
        _ => [],
    };

    private static string Normalize(string name) => name.TrimEnd('.').Trim('"').ToLowerInvariant();

    // "name [ttl] [class] type rdata...", as unbound's local-data takes it.
    private bool AddRecord(string text)
    {
        var parts = text.Trim().Trim('"').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
        if (parts.Count < 3) return false;
        var name = Normalize(parts[0]);
        int i = 1;
        if (int.TryParse(parts[i], out _)) i++;
        if (i < parts.Count && parts[i].Equals("IN", StringComparison.OrdinalIgnoreCase)) i++;
        if (i >= parts.Count) return false;
        var type = parts[i++].ToUpperInvariant();
        var data = parts.Skip(i).ToArray();
        switch (type)
        {
            case "SRV" when data.Length == 4 && int.TryParse(data[0], out var prio) && int.TryParse(data[1], out var weight) && int.TryParse(data[2], out var port):
                Add(_srv, name, new SrvTarget(prio, weight, port, Normalize(data[3])));
                return true;
            case "A" or "AAAA" when data.Length == 1 && IPAddress.TryParse(data[0], out var address):
                Add(_addresses, name, address);
                return true;
            default:
                return false;
        }
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string name, T value)
    {
        if (!map.TryGetValue(name, out var list)) map[name] = list = new List<T>();
        list.Add(value);
    }

    /// <summary>The SRV records for a name; an empty list when the name is in a static zone without any; null when DNS must be asked.</summary>
    public IReadOnlyList<SrvTarget>? Srv(string name) =>
        _srv.TryGetValue(Normalize(name), out var list) ? list : InStaticZone(name) ? [] : null;

    /// <summary>The addresses for a name; empty when it is in a static zone without any; null when DNS must be asked.</summary>
    public IReadOnlyList<IPAddress>? Addresses(string name) =>
        _addresses.TryGetValue(Normalize(name), out var list) ? list : InStaticZone(name) ? [] : null;

    private bool InStaticZone(string name)
    {
        var n = Normalize(name);
        return _staticZones.Any(z => n == z || n.EndsWith("." + z, StringComparison.Ordinal));
    }
}
