using LuaXmpp.Configuration;
using LuaXmpp.Host.Cli;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Leaving root. Prosody 0.12 has two rules: prosodyctl switches to <c>prosody_user</c> /
/// <c>prosody_group</c> when started as root (util/startup.lua switch_user), and the prosody
/// daemon itself refuses to run as root unless <c>run_as_root = true</c> (mod_posix). LuaXmpp is
/// both, so started as root without run_as_root it becomes <c>prosody_user</c> (group
/// <c>prosody_group</c>, by default the user's own) before anything is opened, and without
/// prosody_user it refuses to start with one line and exit code 4. (The pre-0.9 options setuid
/// and setgid are obsolete in Prosody 0.12, and reported so by check config, as Prosody does.)
/// </summary>
public static class Privileges
{
    private static readonly Logger Log = Logger.For("posix");

    /// <summary>The line a root start without a user to become ends with (tests match it).</summary>
    public const string Refusal = "Refusing to run as root: set prosody_user = \"prosody\" (the user to switch to) or run_as_root = true";

    /// <summary>Switches user when started as root, stays root with run_as_root, or refuses.</summary>
    public static void Drop(ServerConfig config)
    {
        if (!OperatingSystem.IsLinux() || Posix.geteuid() != 0) return;
        if (config.GetBoolean(null, "run_as_root", false)) return;
        const string userOption = "prosody_user", groupOption = "prosody_group";
        var user = config.GetString(null, userOption);
        if (user is null) throw new OperatorException(new(Refusal, ExitCodes.Unusable));
        var ids = Posix.User(user) ?? throw new OperatorException(new($"{userOption}: no such user '{user}' on this machine", ExitCodes.Unusable));
        var groupName = config.GetString(null, groupOption);
        var gid = groupName is null ? ids.Gid
            : Posix.Group(groupName) ?? throw new OperatorException(new($"{groupOption}: no such group '{groupName}' on this machine", ExitCodes.Unusable));
        // Group first: after setuid we could no longer change it. glibc applies both to every thread.
        if (Posix.setgid(gid) != 0 || Posix.initgroups(user, gid) != 0 || Posix.setuid(ids.Uid) != 0)
            throw new OperatorException(new($"{userOption}: could not switch to user '{user}': {Posix.LastError()}", ExitCodes.Unusable));
        if (config.Path is { } path && !Readable(path))
            throw new OperatorException(new($"{userOption}: the config {path} is not readable by '{user}', so it could not be reloaded", ExitCodes.Unusable));
        Log.Info($"Switched to user {user} (uid {ids.Uid}, gid {gid})");
    }

    private static bool Readable(string path)
    {
        try
        {
            using var _ = File.OpenRead(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
