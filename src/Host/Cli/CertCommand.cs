using LuaXmpp.Host.Hosting;
using LuaXmpp.Tls;

namespace LuaXmpp.Host.Cli;

/// <summary>prosodyctl cert generate HOST: a self-signed certificate in the certificates directory.</summary>
public static class CertCommand
{
    public static int Run(CommandContext context, string[] args)
    {
        if (args.Length != 2 || args[0] != "generate") return CommandLine.UsageError(context.Stderr, "usage: luaxmpp cert generate HOST");
        var paths = ServerPaths.From(context.Config, context.ConfigDirectory);
        using var cert = SelfSignedCertificate.Create(args[1], TimeSpan.FromDays(365));
        var (certPath, keyPath) = SelfSignedCertificate.WriteTo(paths.CertificatesPath, args[1], cert);
        context.Stdout.WriteLine($"Certificate written to {certPath}");
        context.Stdout.WriteLine($"Key written to {keyPath}");
        return ExitCodes.Ok;
    }
}
