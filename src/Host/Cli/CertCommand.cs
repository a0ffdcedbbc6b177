using LuaXmpp.Host.Hosting;
using LuaXmpp.Tls;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// prosodyctl cert generate HOST: a self-signed certificate in the certificates directory. An
/// existing certificate or key is kept unless --force is given; a running server takes up a
/// new one on reload (SIGHUP).
/// </summary>
public static class CertCommand
{
    public static int Run(CommandContext context, string[] args)
    {
        var force = args.Contains("--force");
        var rest = args.Where(a => a != "--force").ToArray();
        if (rest.Length != 2 || rest[0] != "generate") return CommandLine.UsageError(context.Stderr, "usage: luaxmpp cert generate HOST [--force]");
        var host = rest[1];
        var paths = ServerPaths.From(context.Config, context.ConfigDirectory);
        var existing = new[] { host + ".crt", host + ".key" }.Select(f => Path.Combine(paths.CertificatesPath, f)).Where(File.Exists).ToArray();
        if (existing.Length > 0 && !force)
        {
            context.Stderr.WriteLine($"Error: {string.Join(" and ", existing)} already exist; use --force to replace them");
            return ExitCodes.Failed;
        }
        using var cert = SelfSignedCertificate.Create(host, TimeSpan.FromDays(365));
        var (certPath, keyPath) = SelfSignedCertificate.WriteTo(paths.CertificatesPath, host, cert);
        context.Stdout.WriteLine($"Certificate written to {certPath}");
        context.Stdout.WriteLine($"Key written to {keyPath}");
        if (existing.Length > 0) context.Stdout.WriteLine("A running server uses the new certificate after `luaxmpp reload`");
        return ExitCodes.Ok;
    }
}
