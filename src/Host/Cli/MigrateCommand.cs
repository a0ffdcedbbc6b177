using LuaXmpp.Configuration;
using LuaXmpp.Host.Hosting;
using LuaXmpp.LuaBridge.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Storage.Internal;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// luaxmpp migrate --from DRIVER --to DRIVER [--from-config FILE] [--to-config FILE] [HOST...]:
/// copies every store of the hosts (all VirtualHosts by default) between the "internal" flat
/// files and the "sql" database (SQLite or PostgreSQL, as the sql option says), each side set up
/// as its config does (data_path, sql): the main config, or another config file for one side, so
/// that e.g. a SQLite database moves to PostgreSQL. Like prosody-migrator, it lists what the
/// source holds (every store of every user) and copies it. Stop the server first.
/// </summary>
public static class MigrateCommand
{
    private const string Form = "usage: luaxmpp migrate --from internal|sql --to internal|sql [--from-config FILE] [--to-config FILE] [HOST...]";
    private static readonly string[] Drivers = ["internal", "sql"];

    private sealed record Side(string Driver, string? ConfigFile);

    public static async Task<int> RunAsync(CommandContext context, string[] args)
    {
        if (!TryParse(args, out var from, out var to, out var hosts)) return CommandLine.UsageError(context.Stderr, Form);
        // Copying a store onto itself would empty it (the destination is replaced before the copy).
        string ConfigOf(Side side) => Path.GetFullPath(side.ConfigFile ?? context.Config.Path ?? "");
        if (from.Driver == to.Driver && ConfigOf(from) == ConfigOf(to)) return CommandLine.UsageError(context.Stderr, "migrate: --from and --to are the same storage");
        foreach (var host in hosts)
        {
            if (context.Config.FindHost(host) is null)
            {
                context.Stderr.WriteLine($"No such host: {host} is not in the config");
                return ExitCodes.Failed;
            }
        }
        if (hosts.Count == 0) hosts = context.Config.Hosts.Where(h => h.Kind == HostKind.VirtualHost).Select(h => h.Name).ToList();

        using var main = Open(context.Config, context.ConfigDirectory);
        using var fromOther = from.ConfigFile is { } f ? Open(Load(f), Path.GetDirectoryName(Path.GetFullPath(f))!) : null;
        using var toOther = to.ConfigFile is { } t ? Open(Load(t), Path.GetDirectoryName(Path.GetFullPath(t))!) : null;
        try
        {
            foreach (var host in hosts)
            {
                var source = (fromOther ?? main).DriverNamed(from.Driver, host);
                var destination = (toOther ?? main).DriverNamed(to.Driver, host);
                var result = await StorageMigrator.CopyAsync(source, destination, host);
                context.Stdout.WriteLine($"{host}: copied {result.Tables} keyval tables and {result.Archives} archives ({result.ArchiveItems} items) from {Name(from)} to {Name(to)}");
            }
        }
        catch (Exception ex) when (ex is StorageException or NotSupportedException)
        {
            context.Stderr.WriteLine($"Migration failed: {ex.Message}");
            return ExitCodes.Failed;
        }
        return ExitCodes.Ok;
    }

    private static string Name(Side side) => side.ConfigFile is null ? side.Driver : $"{side.Driver} ({side.ConfigFile})";

    private static StorageManager Open(ServerConfig config, string configDirectory) =>
        new(config, ServerPaths.From(config, configDirectory).DataPath);

    private static ServerConfig Load(string file)
    {
        try
        {
            return ConfigLoader.Load(Path.GetFullPath(file));
        }
        catch (Exception ex) when (ex is ConfigException or IOException or UnauthorizedAccessException)
        {
            throw new OperatorException(new($"{file}: {ex.Message}", ExitCodes.BadConfig));
        }
    }

    private static bool TryParse(string[] args, out Side from, out Side to, out List<string> hosts)
    {
        string fromDriver = "", toDriver = "";
        string? fromConfig = null, toConfig = null;
        hosts = [];
        bool ok = true;
        for (int i = 0; i < args.Length && ok; i++)
        {
            switch (args[i])
            {
                case "--from" when i + 1 < args.Length && Drivers.Contains(args[i + 1]):
                    fromDriver = args[++i];
                    break;
                case "--to" when i + 1 < args.Length && Drivers.Contains(args[i + 1]):
                    toDriver = args[++i];
                    break;
                case "--from-config" when i + 1 < args.Length:
                    fromConfig = args[++i];
                    break;
                case "--to-config" when i + 1 < args.Length:
                    toConfig = args[++i];
                    break;
                case var a when !a.StartsWith('-'):
                    hosts.Add(a);
                    break;
                default:
                    ok = false;
                    break;
            }
        }
        from = new Side(fromDriver, fromConfig);
        to = new Side(toDriver, toConfig);
        return ok && fromDriver.Length > 0 && toDriver.Length > 0;
    }
}
