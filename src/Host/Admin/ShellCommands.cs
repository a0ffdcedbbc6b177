using System.Diagnostics;
using LuaXmpp.Hosting;
using LuaXmpp.S2s;
using LuaXmpp.Sessions;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Host.Admin;

/// <summary>
/// The commands of Prosody 0.12's admin shell (mod_admin_shell) that make sense here:
/// c2s:show/close, s2s:show/close, module:list/load/unload/reload, host:list,
/// user:create/delete/password, server:version/uptime/memory/shutdown, stats:show. Everything
/// touching server state runs on the loop.
/// </summary>
/// <param name="stats">core.statsmanager's lines for stats:show(pattern) (called on the loop); null without statistics.</param>
/// <param name="s2s">The server-to-server service once it runs (read on the loop); null without s2s.</param>
public sealed class ShellCommands(XmppServer server, Action<string> shutdown,
    Func<string?, (IReadOnlyList<string> Lines, int Families)?>? stats = null, Func<S2sService?>? s2s = null)
{
    public const string Help = """
        c2s:show(host)                  list client sessions (all hosts when no host)
        c2s:close(jid)                  close the sessions of a full or bare JID
        s2s:show(host)                  list server-to-server connections (all when no host)
        s2s:close(from, to)             close the s2s connections between a local and a remote domain
        module:list(host)               modules loaded on a host (all when no host)
        module:load(name, host)         load a module (on every VirtualHost when no host)
        module:unload(name, host)       unload a module
        module:reload(name, host)       unload and load a module again
        host:list()                     the active hosts
        user:create(jid, password)      create an account
        user:password(jid, password)    set an account's password
        user:delete(jid)                delete an account
        server:version()                the server's version
        server:uptime()                 how long the server has been running
        server:memory()                 memory use
        server:shutdown(reason)         stop the server
        stats:show(pattern)             statistics whose names match a Lua pattern (all when none)
        """;

    public async Task<ShellReply> RunAsync(string line)
    {
        var trimmed = line.Trim();
        if (trimmed is "help" or "help()") return ShellReply.Ok("", Help.Split('\n'));
        var call = ShellCall.Parse(trimmed, out var error);
        if (call is null) return ShellReply.Error(error!);
        return (call.Section, call.Command) switch
        {
            ("c2s", "show") => await OnLoop(() => C2sShow(call.Arg(0))),
            ("c2s", "close") => await OnLoop(() => C2sClose(call.Arg(0))),
            ("s2s", "show") => await OnLoop(() => S2sShow(call.Arg(0))),
            ("s2s", "close") => await OnLoop(() => S2sClose(call.Arg(0), call.Arg(1))),
            ("module", "list") => await OnLoop(() => ModuleList(call.Arg(0))),
            ("module", "load") => await OnLoopAsync(() => ModuleChangeAsync(call.Arg(0), call.Arg(1), load: true, unload: false)),
            ("module", "unload") => await OnLoopAsync(() => ModuleChangeAsync(call.Arg(0), call.Arg(1), load: false, unload: true)),
            ("module", "reload") => await OnLoopAsync(() => ModuleChangeAsync(call.Arg(0), call.Arg(1), load: true, unload: true)),
            ("host", "list") => await OnLoop(HostList),
            ("user", "create") => await UserCreateAsync(call.Arg(0), call.Arg(1)),
            ("user", "password") => await UserPasswordAsync(call.Arg(0), call.Arg(1)),
            ("user", "delete") => await UserDeleteAsync(call.Arg(0)),
            ("server", "version") => ShellReply.Ok($"LuaXmpp {server.Version} (Prosody 0.12 compatible)"),
            ("server", "uptime") => Uptime(),
            ("server", "memory") => Memory(),
            ("server", "shutdown") => Shutdown(call.Arg(0)),
            ("stats", "show") => await OnLoop(() => StatsShow(call.Arg(0))),
            _ => ShellReply.Error($"Unknown command {call.Section}:{call.Command}(); type help"),
        };
    }

    private Task<ShellReply> OnLoop(Func<ShellReply> body) => server.Loop.InvokeAsync(body);

    // A module load may wait (storage at load time): it is awaited on the loop, which meanwhile serves everyone else.
    private Task<ShellReply> OnLoopAsync(Func<Task<ShellReply>> body) => server.Loop.InvokeAsync(body).Unwrap();

    private ShellReply C2sShow(string? host)
    {
        var sessions = server.Sessions.All.Where(s => host is null || s.Host == host).OrderBy(s => s.ToString(), StringComparer.Ordinal).ToArray();
        var lines = sessions.Select(s =>
            $"{s,-40} {(s.Secure ? "secure" : "insecure"),-9} {(s.Connection?.RemoteAddress ?? "(hibernating)"),-20} {(s.StreamManagement is null ? "" : "smacks")}").ToArray();
        return ShellReply.Ok($"{sessions.Length} c2s sessions shown", lines);
    }

    private ShellReply C2sClose(string? jid)
    {
        if (jid is null || !Jid.TryParse(jid, out var match)) return ShellReply.Error("c2s:close needs a JID");
        var closing = server.Sessions.All.Where(s => s.FullJid is { } full && (full.ToString() == match.ToString() || (match.Resource is null && full.Bare.ToString() == match.ToString()))).ToArray();
        foreach (var session in closing)
        {
            session.Close(Xml.StreamErrorCondition.PolicyViolation, "closed by the server administrator");
            server.Sessions.Destroy(session, "closed by the server administrator");
        }
        return ShellReply.Ok($"Total: {closing.Length} sessions closed");
    }

    // Prosody's s2s:show: one line per connection, local domain first, the arrow pointing the way
    // the stream goes, then how it was secured and authenticated.
    private ShellReply S2sShow(string? host)
    {
        var sessions = S2sSessions().Where(s => host is null || s.Host == host || s.RemoteHost == host)
            .OrderBy(s => s.Host, StringComparer.Ordinal).ThenBy(s => s.RemoteHost, StringComparer.Ordinal).ToArray();
        var lines = sessions.Select(s =>
            $"{s.Host} {(s.Outgoing ? "->" : "<-")} {s.RemoteHost ?? "(unknown)",-30} {(s.Established ? "authenticated by " + s.Mechanism : "connecting")}"
            + $" {(s.Fields.TryGetValue("secure", out var secure) && secure is true ? "secure" : "insecure")}"
            + (s.Certificate is { } c ? $" certificate {(c.ChainValid && c.IdentityValid ? "valid" : "invalid")}" : "")).ToArray();
        return ShellReply.Ok($"{sessions.Length} s2s connections shown", lines);
    }

    private ShellReply S2sClose(string? from, string? to)
    {
        if (from is null || to is null) return ShellReply.Error("s2s:close needs the local and the remote domain, e.g. s2s:close(\"example.com\", \"example.org\")");
        var closing = S2sSessions().Where(s => s.Host == from && s.RemoteHost == to).ToArray();
        foreach (var session in closing) session.Connection.Close(Xml.StreamErrorCondition.PolicyViolation, "closed by the server administrator");
        return ShellReply.Ok($"Closed {closing.Length} s2s connections");
    }

    private IEnumerable<S2sSession> S2sSessions() => s2s?.Invoke()?.Sessions ?? [];

    private ShellReply ModuleList(string? host)
    {
        var hosts = host is null ? server.Hosts.Keys.Order(StringComparer.Ordinal).ToArray() : [host];
        var lines = new List<string>();
        foreach (var name in hosts)
        {
            if (!server.Hosts.ContainsKey(name)) return ShellReply.Error($"No such host: {name}");
            lines.Add(name + ":");
            lines.AddRange(server.Modules.LoadedModules(name).Order(StringComparer.Ordinal).Select(m => "    " + m));
        }
        return ShellReply.Ok($"{hosts.Length} hosts", lines.ToArray());
    }

    private async Task<ShellReply> ModuleChangeAsync(string? name, string? host, bool load, bool unload)
    {
        if (name is null) return ShellReply.Error("which module? e.g. module:load(\"ping\", \"example.com\")");
        var hosts = host is null ? server.Hosts.Values.Where(h => !h.IsComponent).ToArray()
            : server.FindHost(host) is { } one ? [one] : [];
        if (hosts.Length == 0) return ShellReply.Error($"No such host: {host}");
        var lines = new List<string>();
        var failed = 0;
        foreach (var h in hosts)
        {
            if (unload && !server.Modules.Unload(h, name) && !load)
            {
                lines.Add($"{h.Name}: mod_{name} was not loaded");
                failed++;
                continue;
            }
            if (load && await server.Modules.LoadAsync(h, name) is { } error)
            {
                lines.Add($"{h.Name}: mod_{name} failed: {error}");
                failed++;
                continue;
            }
            lines.Add($"{h.Name}: mod_{name} {(load && unload ? "reloaded" : load ? "loaded" : "unloaded")}");
        }
        var verb = load && unload ? "reloaded" : load ? "loaded" : "unloaded";
        return failed == 0 ? ShellReply.Ok($"Module {verb} onto {hosts.Length} host(s)", lines.ToArray())
            : new ShellReply(lines, $"{failed} of {hosts.Length} host(s) failed", true);
    }

    private ShellReply HostList()
    {
        var lines = server.Hosts.Values.OrderBy(h => h.Name, StringComparer.Ordinal)
            .Select(h => $"{h.Name,-40} {(h.IsComponent ? "component " + h.Config.ComponentModule : "VirtualHost")}").ToArray();
        return ShellReply.Ok($"{lines.Length} hosts", lines);
    }

    private async Task<ShellReply> UserCreateAsync(string? jid, string? password)
    {
        if (!Account(jid, out var user, out var host, out var problem)) return problem!;
        if (string.IsNullOrEmpty(password)) return ShellReply.Error("user:create needs a password");
        return await server.Auth(host).CreateUserAsync(user, password) ? ShellReply.Ok($"User {user}@{host} created") : ShellReply.Error("That user already exists");
    }

    private async Task<ShellReply> UserPasswordAsync(string? jid, string? password)
    {
        if (!Account(jid, out var user, out var host, out var problem)) return problem!;
        if (string.IsNullOrEmpty(password)) return ShellReply.Error("user:password needs a password");
        var auth = server.Auth(host);
        if (!await auth.UserExistsAsync(user)) return ShellReply.Error($"No such user: {user}@{host}");
        return await auth.SetPasswordAsync(user, password) ? ShellReply.Ok("User password changed") : ShellReply.Error("Could not set the password");
    }

    private async Task<ShellReply> UserDeleteAsync(string? jid)
    {
        if (!Account(jid, out var user, out var host, out var problem)) return problem!;
        if (!await server.Auth(host).DeleteUserAsync(user)) return ShellReply.Error($"No such user: {user}@{host}");
        await server.Storage.PurgeUserAsync(host, user);
        return ShellReply.Ok($"User {user}@{host} deleted");
    }

    private bool Account(string? jid, out string user, out string host, out ShellReply? problem)
    {
        user = host = "";
        problem = null;
        if (jid is null || !Jid.TryParse(jid, out var parsed) || parsed.Node is null)
        {
            problem = ShellReply.Error($"Invalid JID: {jid}");
            return false;
        }
        user = parsed.Node;
        host = parsed.Domain;
        if (server.FindHost(host) is not { IsComponent: false })
        {
            problem = ShellReply.Error($"No such host: {host}");
            return false;
        }
        return true;
    }

    private ShellReply Uptime()
    {
        var up = server.Loop.Time.GetUtcNow() - server.StartTime;
        return ShellReply.Ok($"This server has been running for {(int)up.TotalDays} days, {up.Hours} hours and {up.Minutes} minutes (since {server.StartTime:ddd, dd MMM yyyy HH:mm:ss} UTC)");
    }

    private static ShellReply Memory()
    {
        using var process = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        return ShellReply.Ok($"Memory: {process.WorkingSet64 / 1048576.0:F1} MB resident, {GC.GetTotalMemory(false) / 1048576.0:F1} MB managed heap, {gc.TotalCommittedBytes / 1048576.0:F1} MB committed");
    }

    // Prosody 0.12's stats:show(pattern): the families of core.statsmanager, collected now.
    private ShellReply StatsShow(string? pattern)
    {
        (IReadOnlyList<string> Lines, int Families)? shown;
        try
        {
            shown = stats?.Invoke(pattern);
        }
        catch (ArgumentException e)
        {
            return ShellReply.Error($"stats:show: {e.Message}");
        }
        if (shown is not { } s) return ShellReply.Error("Statistics are off: set statistics = \"internal\" in the global section");
        return ShellReply.Ok($"{s.Families} statistics displayed", [.. s.Lines]);
    }

    private ShellReply Shutdown(string? reason)
    {
        shutdown(reason ?? "Shutdown requested from the admin shell");
        return ShellReply.Ok("Shutting down");
    }
}
