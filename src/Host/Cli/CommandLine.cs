using LuaXmpp.Configuration;
using LuaXmpp.Host.Hosting;
using LuaXmpp.LuaBridge.Configuration;
using LuaXmpp.Storage;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// The luaxmpp command line, in prosodyctl's words: no command (or "run") starts the server;
/// the commands in <see cref="Commands"/> manage it. "--config FILE" may stand anywhere; the
/// default is ./prosody.cfg.lua.
/// </summary>
public static class CommandLine
{
    /// <summary>One command: its name, its usage line, and whether it opens data_path.</summary>
    public sealed record Command(string Name, string Synopsis, string Does, bool UsesData, Func<CommandContext, string[], Task<int>> Run);

    /// <summary>The command table; a new command is one more entry (the usage text is made from it).</summary>
    public static readonly IReadOnlyList<Command> Commands =
    [
        new("run", "(no command), run", "start the server (SIGHUP reloads, SIGTERM stops)", false, (c, _) => RunCommand.RunAsync(c)),
        new("status", "status", "is the server running? (pidfile)", false, ServiceCommands.StatusAsync),
        new("reload", "reload", "make the running server reload its config (SIGHUP)", false, ServiceCommands.ReloadAsync),
        new("stop", "stop", "stop the running server (SIGTERM) and wait for it", false, ServiceCommands.StopAsync),
        new("shell", "shell [COMMAND...]", "the running server's admin shell (needs admin_shell in modules_enabled)", false, ShellCommand.RunAsync),
        new("register", "register USER HOST PASSWORD", "create an account", true, AccountCommands.RegisterAsync),
        new("adduser", "adduser JID", "create an account (password asked twice, not echoed)", true, AccountCommands.AddUserAsync),
        new("passwd", "passwd JID", "change a password (asked twice, not echoed)", true, AccountCommands.PasswdAsync),
        new("deluser", "deluser JID", "delete an account and its data", true, AccountCommands.DelUserAsync),
        new("check", "check config", "load the config and report problems", false, (c, a) => Task.FromResult(CheckCommand.Run(c, a))),
        new("cert", "cert generate HOST [--force]", "write a self-signed certificate for HOST", false, (c, a) => Task.FromResult(CertCommand.Run(c, a))),
        new("migrate", "migrate --from D --to D [HOST]", "copy all data between storage drivers \"internal\" and \"sql\" (--from-config/--to-config FILE: one side as another config sets it up)", true, MigrateCommand.RunAsync),
    ];

    public static string Usage =>
        "usage: luaxmpp [--config FILE] [COMMAND]\n" +
        string.Join("\n", Commands.Select(c => $"  {c.Synopsis,-32}{c.Does}")) +
        $"\n  {"about",-32}versions and paths";

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
        var name = rest.Count == 0 ? "run" : rest[0];
        if (name == "about") return AboutCommand.Run(configPath, stdout);
        var command = Commands.FirstOrDefault(c => c.Name == name);
        if (command is null) return UsageError(stderr, $"Unknown command '{name}'");

        ServerConfig config;
        try
        {
            config = ConfigLoader.Load(Path.GetFullPath(configPath));
        }
        catch (Exception ex) when (ex is ConfigException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"Error loading config: {ex.Message}");
            // For "check config" a config that does not load is the error it reports (prosodyctl exits 1).
            return name == "check" ? ExitCodes.Failed : ExitCodes.BadConfig;
        }
        var context = new CommandContext(config, stdin, stdout, stderr);
        try
        {
            if (command.UsesData)
            {
                var errors = new List<OperatorError>();
                Preflight.DataPath(ServerPaths.From(config, context.ConfigDirectory), errors);
                if (errors.Count > 0) throw new OperatorException(errors[0]);
            }
            return await command.Run(context, rest.Skip(1).ToArray());
        }
        catch (OperatorException e)
        {
            stderr.WriteLine("Error: " + e.Error.Message);
            return e.Error.ExitCode;
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
        catch (Exception e)
        {
            // Never a stack trace for the operator: one line; the type says where to look.
            stderr.WriteLine($"Error: {name} failed: {e.Message} ({e.GetType().Name})");
            return ExitCodes.Crashed;
        }
    }

    public static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        stderr.WriteLine(Usage);
        return ExitCodes.Usage;
    }
}
