using LuaXmpp.Host.Hosting;
using LuaXmpp.LuaBridge.Configuration;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// prosodyctl check config: loads the config and reports what is wrong with it, including what
/// only shows at start (ports, data_path, certificates) with the same lines the start prints.
/// </summary>
public static class CheckCommand
{
    public static int Run(CommandContext context, string[] args)
    {
        if (args.Length > 1 || (args.Length == 1 && args[0] != "config"))
            return CommandLine.UsageError(context.Stderr, "usage: luaxmpp check config");
        var catalog = ModuleCatalog.For(context.Config, context.ConfigDirectory);
        var problems = ConfigChecker.Check(context.Config, catalog.Exists).ToList();
        var paths = ServerPaths.From(context.Config, context.ConfigDirectory);
        var errors = new List<OperatorError>();
        var endpoints = Preflight.Listeners(context.Config, errors);
        Preflight.DataPath(paths, errors, create: false);
        Preflight.Certificates(context.Config, paths, errors);
        problems.AddRange(errors.Select(e => new ConfigProblem(true, e.Message)));
        problems.AddRange(catalog.ShadowedModules().Select(m => new ConfigProblem(false, m)));
        problems.AddRange(Preflight.PortsInUse(endpoints).Select(m => new ConfigProblem(false, m)));
        foreach (var p in problems) (p.IsError ? context.Stderr : context.Stdout).WriteLine((p.IsError ? "error: " : "warning: ") + p.Message);
        var count = problems.Count(p => p.IsError);
        context.Stdout.WriteLine(count == 0 ? "Config OK" : $"{count} error(s) in the config");
        return count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
