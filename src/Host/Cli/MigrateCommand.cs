using LuaXmpp.Configuration;
using LuaXmpp.Host.Hosting;
using LuaXmpp.Storage;
using LuaXmpp.Storage.Internal;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// luaxmpp migrate --from DRIVER --to DRIVER [HOST...]: copies every store of the hosts (all
/// VirtualHosts by default) between the "internal" flat files and the "sql" database, both as
/// the config sets them up (data_path, the sql option), like prosody-migrator. Stop the server first.
/// </summary>
public static class MigrateCommand
{
    private const string Form = "usage: luaxmpp migrate --from internal|sql --to internal|sql [HOST...]";
    private static readonly string[] Drivers = ["internal", "sql"];

    public static async Task<int> RunAsync(CommandContext context, string[] args)
    {
        if (!TryParse(args, out var from, out var to, out var hosts) || from == to) return CommandLine.UsageError(context.Stderr, Form);
        foreach (var host in hosts)
        {
            if (context.Config.FindHost(host) is null)
            {
                context.Stderr.WriteLine($"No such host: {host} is not in the config");
                return ExitCodes.Failed;
            }
        }
        if (hosts.Count == 0) hosts = context.Config.Hosts.Where(h => h.Kind == HostKind.VirtualHost).Select(h => h.Name).ToList();

        var dataPath = ServerPaths.From(context.Config, context.ConfigDirectory).DataPath;
        using var storage = new StorageManager(context.Config, dataPath);
        try
        {
            foreach (var host in hosts)
            {
                var result = await StorageMigrator.CopyAsync(storage.DriverNamed(from, host), storage.DriverNamed(to, host), host);
                context.Stdout.WriteLine($"{host}: copied {result.Tables} keyval tables and {result.Archives} archives ({result.ArchiveItems} items) from {from} to {to}");
            }
        }
        catch (Exception ex) when (ex is StorageException or NotSupportedException)
        {
            context.Stderr.WriteLine($"Migration failed: {ex.Message}");
            return ExitCodes.Failed;
        }
        return ExitCodes.Ok;
    }

    private static bool TryParse(string[] args, out string from, out string to, out List<string> hosts)
    {
        from = to = "";
        hosts = [];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--from" when i + 1 < args.Length && Drivers.Contains(args[i + 1]):
                    from = args[++i];
                    break;
                case "--to" when i + 1 < args.Length && Drivers.Contains(args[i + 1]):
                    to = args[++i];
                    break;
                case var a when !a.StartsWith('-'):
                    hosts.Add(a);
                    break;
                default:
                    return false;
            }
        }
        return from.Length > 0 && to.Length > 0;
    }
}
