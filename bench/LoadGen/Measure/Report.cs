using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LuaXmpp.Bench.LoadGen.Measure;

/// <summary>The outcome of one scenario run: an ordered set of named figures, printed as one
/// JSON line (for bench/compare) followed by a human summary.</summary>
public sealed class Report(string scenario, string label)
{
    private readonly List<KeyValuePair<string, object?>> _figures = [];

    public Report Add(string name, object? value)
    {
        _figures.Add(KeyValuePair.Create(name, value is double d && !double.IsFinite(d) ? null : value));
        return this;
    }

    /// <summary>A figure by name (null when absent), for callers that check results in code.</summary>
    public object? this[string name] => _figures.Find(f => f.Key == name).Value;

    /// <summary>The scenario could not run against this server (e.g. no XEP-0198): say so,
    /// with the reason, instead of printing numbers that mean nothing.</summary>
    public Report Unsupported(string reason) => Add("unsupported", reason);

    public void Print(TextWriter output)
    {
        var json = new Dictionary<string, object?> { ["scenario"] = scenario, ["server"] = label };
        foreach (var (name, value) in _figures) json[name] = value is double d ? Math.Round(d, 4) : value;
        output.WriteLine(JsonSerializer.Serialize(json));
        var text = new StringBuilder($"# {scenario} against {label}\n");
        foreach (var (name, value) in _figures)
        {
            text.Append("#   ").Append(name.PadRight(28)).Append(' ').Append(Format(value)).Append('\n');
        }

        output.Write(text.ToString());
        output.Flush();
    }

    private static string Format(object? value) => value switch
    {
        null => "-",
        double d => d.ToString(Math.Abs(d) >= 100 ? "F0" : "G4", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "-",
    };
}
