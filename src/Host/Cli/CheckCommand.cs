using LuaXmpp.Host.Hosting;
using LuaXmpp.LuaBridge.Configuration;

namespace LuaXmpp.Host.Cli;

/// <summary>prosodyctl check config: loads the config and reports what is wrong with it.</summary>
public static class CheckCommand
{
    public static int Run(CommandContext context, string[] args)
    {
        if (args.Length > 1 || (args.Length == 1 && args[0] != "config"))
            return CommandLine.UsageError(context.Stderr, "usage: luaxmpp check config");
        var catalog = ModuleCatalog.For(context.Config, context.ConfigDirectory);
        var problems = ConfigChecker.Check(context.Config, catalog.Exists);
        foreach (var p in problems) (p.IsError ? context.Stderr : context.Stdout).WriteLine((p.IsError ? "error: " : "warning: ") + p.Message);
        var errors = problems.Count(p => p.IsError);
        context.Stdout.WriteLine(errors == 0 ? "Config OK" : $"{errors} error(s) in the config");
        return errors == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
