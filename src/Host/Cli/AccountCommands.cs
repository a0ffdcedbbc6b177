using LuaXmpp.Accounts;
using LuaXmpp.Host.Hosting;
using LuaXmpp.Storage;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Host.Cli;

/// <summary>prosodyctl's account commands: register, adduser, passwd, deluser.</summary>
public static class AccountCommands
{
    public static Task<int> RegisterAsync(CommandContext context, string[] args)
    {
        if (args.Length != 3) return Task.FromResult(CommandLine.UsageError(context.Stderr, "usage: luaxmpp register USER HOST PASSWORD"));
        return CreateAsync(context, args[0], args[1], args[2]);
    }

    public static async Task<int> AddUserAsync(CommandContext context, string[] args)
    {
        if (args.Length != 1 || !TrySplit(context, args[0], out var user, out var host)) return Usage(context, "adduser JID");
        // Say why it cannot work (unknown host, a Lua provider) before asking for a password.
        if (!CheckHost(context, host)) return ExitCodes.Failed;
        using (var storage = OpenStorage(context))
        {
            if (CreateAuth(context, host, storage) is null) return ExitCodes.Failed;
        }
        var password = ReadPasswordTwice(context);
        return password is null ? ExitCodes.Failed : await CreateAsync(context, user, host, password);
    }

    public static async Task<int> PasswdAsync(CommandContext context, string[] args)
    {
        if (args.Length != 1 || !TrySplit(context, args[0], out var user, out var host)) return Usage(context, "passwd JID");
        if (!CheckHost(context, host)) return ExitCodes.Failed;
        using var storage = OpenStorage(context);
        if (CreateAuth(context, host, storage) is not { } auth) return ExitCodes.Failed;
        if (!await auth.UserExistsAsync(user))
        {
            context.Stderr.WriteLine($"No such user: {user}@{host}");
            return ExitCodes.Failed;
        }
        var password = ReadPasswordTwice(context);
        if (password is null) return ExitCodes.Failed;
        if (!await auth.SetPasswordAsync(user, password))
        {
            context.Stderr.WriteLine("Could not set the password");
            return ExitCodes.Failed;
        }
        context.Stdout.WriteLine($"Password changed for {user}@{host}");
        return ExitCodes.Ok;
    }

    public static async Task<int> DelUserAsync(CommandContext context, string[] args)
    {
        if (args.Length != 1 || !TrySplit(context, args[0], out var user, out var host)) return Usage(context, "deluser JID");
        if (!CheckHost(context, host)) return ExitCodes.Failed;
        using var storage = OpenStorage(context);
        if (CreateAuth(context, host, storage) is not { } auth) return ExitCodes.Failed;
        if (!await auth.DeleteUserAsync(user))
        {
            context.Stderr.WriteLine($"No such user: {user}@{host}");
            return ExitCodes.Failed;
        }
        await storage.PurgeUserAsync(host, user);
        context.Stdout.WriteLine($"User {user}@{host} deleted");
        return ExitCodes.Ok;
    }

    private static async Task<int> CreateAsync(CommandContext context, string rawUser, string rawHost, string password)
    {
        var user = JidPrep.Nodeprep(rawUser);
        var host = JidPrep.Nameprep(rawHost);
        if (user is null || host is null)
        {
            context.Stderr.WriteLine($"Invalid username or host: {rawUser}@{rawHost}");
            return ExitCodes.Failed;
        }
        if (!CheckHost(context, host)) return ExitCodes.Failed;
        using var storage = OpenStorage(context);
        if (CreateAuth(context, host, storage) is not { } auth) return ExitCodes.Failed;
        if (!await auth.CreateUserAsync(user, password))
        {
            context.Stderr.WriteLine("That user already exists");
            return ExitCodes.Failed;
        }
        context.Stdout.WriteLine($"User {user}@{host} created");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The host's provider; a Lua one (mod_auth_insecure, ...) lives only inside the running server,
    /// so the command says that in one line instead of failing with an exception.
    /// </summary>
    private static IAuthProvider? CreateAuth(CommandContext context, string host, StorageManager storage)
    {
        try
        {
            return AuthProviders.Create(host, context.Config, storage);
        }
        catch (NotSupportedException)
        {
            var name = context.Config.GetString(host, "authentication");
            context.Stderr.WriteLine($"authentication = \"{name}\" on {host} is the Lua module mod_auth_{name}, which runs only inside the server: "
                + "manage its accounts through the server (in-band registration or ad-hoc commands)");
            return null;
        }
    }

    private static StorageManager OpenStorage(CommandContext context) =>
        new(context.Config, ServerPaths.From(context.Config, context.ConfigDirectory).DataPath);

    private static bool CheckHost(CommandContext context, string host)
    {
        if (context.Config.FindHost(host) is { Kind: Configuration.HostKind.VirtualHost }) return true;
        context.Stderr.WriteLine($"No such host: {host} is not a VirtualHost in the config");
        return false;
    }

    private static bool TrySplit(CommandContext context, string jid, out string user, out string host)
    {
        user = host = "";
        if (!Jid.TryParse(jid, out var parsed) || parsed.Node is null || parsed.Resource is not null)
        {
            context.Stderr.WriteLine($"Invalid JID: {jid}");
            return false;
        }
        user = parsed.Node;
        host = parsed.Domain;
        return true;
    }

    private static string? ReadPasswordTwice(CommandContext context)
    {
        var first = PasswordPrompt.Read(context, "Enter new password: ");
        var second = PasswordPrompt.Read(context, "Retype new password: ");
        if (string.IsNullOrEmpty(first))
        {
            context.Stderr.WriteLine("No password given");
            return null;
        }
        if (first != second)
        {
            context.Stderr.WriteLine("Passwords did not match");
            return null;
        }
        return first;
    }

    private static int Usage(CommandContext context, string form) => CommandLine.UsageError(context.Stderr, "usage: luaxmpp " + form);
}
