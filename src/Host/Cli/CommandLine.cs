using LuaXmpp.Configuration;
using LuaXmpp.LuaBridge.Configuration;
using LuaXmpp.Storage;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// The luaxmpp command line, in prosodyctl's words: no command (or "run") starts the server;
/// register, adduser, passwd, deluser, check, about and cert manage it. "--config FILE" may
/// stand anywhere; the default is ./prosody.cfg.lua.
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        usage: luaxmpp [--config FILE] [COMMAND]
          (no command), run               start the server
          register USER HOST PASSWORD     create an account
          adduser JID                     create an account (password read twice from stdin)
          passwd JID                      change a password (read twice from stdin)
          deluser JID                     delete an account and its data
          check config                    load the config and report problems
          about                           versions and paths
          cert generate HOST              write a self-signed certificate for HOST
        """;

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var rest = new List<string>();
        string configPath = "prosody.cfg.lua";
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c")
            {
                if (++i >= args.Length) return UsageError(stderr, "--config needs a file name");
                configPath = args[i];
            }
            else if (args[i] is "--help" or "-h" or "help")
            {
                stdout.WriteLine(Usage);
                return ExitCodes.Ok;
            }
            else rest.Add(args[i]);
        }
        var command = rest.Count == 0 ? "run" : rest[0];
        var commandArgs = rest.Skip(1).ToArray();
        if (command == "about") return AboutCommand.Run(configPath, stdout);

        ServerConfig config;
        try
        {
            config = ConfigLoader.Load(Path.GetFullPath(configPath));
        }
        catch (Exception ex) when (ex is ConfigException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"Error loading config: {ex.Message}");
            // For "check config" a config that does not load is the error it reports (prosodyctl exits 1).
            return command == "check" ? ExitCodes.Failed : ExitCodes.BadConfig;
        }
        var context = new CommandContext(config, stdin, stdout, stderr);
        try
        {
            return await RunCommandAsync(command, commandArgs, context, stderr);
        }
        catch (StorageConfigException ex)
        {
            // An option the config evaluates fine but this server cannot honour (sql.driver = "MySQL").
            stderr.WriteLine($"Error in config: {ex.Message}");
            return ExitCodes.BadConfig;
        }
        catch (StorageException ex)
        {
            // The database failed under a CLI command (register while PostgreSQL is down); the driver logged why.
            stderr.WriteLine($"Storage error: {ex.Message}");
            return ExitCodes.Failed;
        }
    }

    private static async Task<int> RunCommandAsync(string command, string[] commandArgs, CommandContext context, TextWriter stderr)
    {
        return command switch
        {
            "run" => await RunCommand.RunAsync(context),
            "register" => await AccountCommands.RegisterAsync(context, commandArgs),
            "adduser" => await AccountCommands.AddUserAsync(context, commandArgs),
            "passwd" => await AccountCommands.PasswdAsync(context, commandArgs),
            "deluser" => await AccountCommands.DelUserAsync(context, commandArgs),
            "check" => CheckCommand.Run(context, commandArgs),
            "cert" => CertCommand.Run(context, commandArgs),
            _ => UsageError(stderr, $"Unknown command '{command}'"),
        };
    }

    public static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        stderr.WriteLine(Usage);
        return ExitCodes.Usage;
    }
}
