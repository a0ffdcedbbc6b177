using System.Globalization;

namespace LuaXmpp.Configuration;

/// <summary>Conversions of config values the way Prosody's typed option getters read them.</summary>
public static class ConfigValues
{
    public static string? AsString(object? v) => v switch
    {
        null => null,
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => null,
    };

    public static double? AsNumber(object? v) => v switch
    {
        long l => l,
        double d => d,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    public static bool? AsBoolean(object? v) => v switch
    {
        bool b => b,
        string s when s is "true" or "yes" or "1" => true,
        string s when s is "false" or "no" or "0" => false,
        long l => l != 0,
        _ => null,
    };

    public static IReadOnlyList<string> AsStringList(object? v) => v switch
    {
        null => [],
        string s => [s],
        // Prosody wraps a scalar where it expects a list (portmanager: c2s_ports = 5222).
        long or double => [AsString(v)!],
        ConfigTable t => t.Array.Select(AsString).Where(s => s is not null).Select(s => s!).ToArray(),
        _ => [],
    };
}
