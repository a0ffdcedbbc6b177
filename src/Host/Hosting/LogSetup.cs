using LuaXmpp.Configuration;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Turns Prosody's <c>log</c> option into sinks. Accepted forms: "*console" or a file name (info
/// and up); a table of level = target ({ info = "x.log", error = "x.err", "*console" }); and
/// Prosody's advanced form, an array of { levels = { min = "debug" } or {"error"}, to = "file" or
/// "console", filename = "..." }. Default: info and up to the console.
/// </summary>
public static class LogSetup
{
    public static void Configure(ServerConfig config, string configDirectory)
    {
        var sinks = new List<ILogSink>();
        switch (config.Get(null, "log"))
        {
            case string target:
                sinks.Add(Sink(target, LogLevel.Info, configDirectory));
                break;
            case ConfigTable table:
                foreach (var (key, value) in table.Hash)
                {
                    if (key is string level && Parse(level) is { } min && value is string target) sinks.Add(Sink(target, min, configDirectory));
                }
                foreach (var item in table.Array)
                {
                    if (item is string target) sinks.Add(Sink(target, LogLevel.Info, configDirectory));
                    else if (item is ConfigTable rule && Rule(rule, configDirectory) is { } sink) sinks.Add(sink);
                }
                break;
            default:
                sinks.Add(new ConsoleLogSink(LogLevel.Info, Console.Out));
                break;
        }
        LogManager.Configure(sinks);
    }

    private static ILogSink? Rule(ConfigTable rule, string configDirectory)
    {
        var min = LogLevel.Info;
        if (rule.Hash.GetValueOrDefault("levels") is ConfigTable levels)
        {
            min = Parse(ConfigValues.AsString(levels.Hash.GetValueOrDefault("min")) ?? "") ??
                  levels.Array.Select(l => Parse(ConfigValues.AsString(l) ?? "")).Where(l => l is not null).Min() ?? LogLevel.Info;
        }
        var to = ConfigValues.AsString(rule.Hash.GetValueOrDefault("to")) ?? "console";
        if (to == "console") return new ConsoleLogSink(min, Console.Out);
        var file = ConfigValues.AsString(rule.Hash.GetValueOrDefault("filename"));
        return file is null ? null : Sink(file, min, configDirectory);
    }

    private static ILogSink Sink(string target, LogLevel min, string configDirectory)
    {
        if (target is "*console" or "*stdout") return new ConsoleLogSink(min, Console.Out);
        if (target is "*stderr") return new ConsoleLogSink(min, Console.Error);
        if (target == "*syslog") return new ConsoleLogSink(min, Console.Error);
        var path = ServerPaths.Resolve(configDirectory, target);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var sink = new FileLogSink(min, path);
        sink.Open();
        return sink;
    }

    private static LogLevel? Parse(string level) => level switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Info,
        "warn" => LogLevel.Warn,
        "error" => LogLevel.Error,
        _ => null,
    };
}
