using System.Globalization;
using LuaXmpp.Bench.LoadGen.Client;

namespace LuaXmpp.Bench.LoadGen;

/// <summary>Command-line flags: <c>--name value</c> pairs and bare <c>--flag</c> switches.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Options(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException("unexpected argument " + list[i]);
            var name = list[i][2..];
            var hasValue = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal);
            _values[name] = hasValue ? list[++i] : "true";
        }
    }

    public string String(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) =>
        _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        _values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public bool Bool(string name) => _values.TryGetValue(name, out var v) && v is "true" or "on" or "1" or "yes";

    public Target Target() => new(
        String("host", "localhost"),
        Int("port", 5222),
        Bool("starttls"),
        String("sasl", "plain") == "scram" ? SaslMechanism.ScramSha1 : SaslMechanism.Plain,
        Int("pid", 0),
        String("password", "bench-password"));

    /// <summary>The account name of the i-th benchmark user.</summary>
    public string User(int i) => String("prefix", "bench") + i.ToString(CultureInfo.InvariantCulture);
}
