using LuaXmpp.Configuration;
using LuaXmpp.Host.Cli;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Leaving root the way prosodyctl does (util/startup.lua switch_user): when started as root
/// and <c>run_as_root</c> is not true, become <c>prosody_user</c> with group
/// <c>prosody_group</c> (default: the user's own group) before anything is opened. Without
/// prosody_user the server stays root and says so once at warn level.
/// </summary>
public static class Privileges
{
    private static readonly Logger Log = Logger.For("posix");

    /// <summary>Switches user when asked to; true when the process stays root without run_as_root (worth a warning).</summary>
    public static bool Drop(ServerConfig config)
    {
        if (!OperatingSystem.IsLinux() || Posix.geteuid() != 0) return false;
        if (config.GetBoolean(null, "run_as_root", false)) return false;
        var user = config.GetString(null, "prosody_user");
        if (user is null) return true;
        var ids = Posix.User(user) ?? throw new OperatorException(new($"prosody_user: no such user '{user}' on this machine", ExitCodes.Unusable));
        var groupName = config.GetString(null, "prosody_group");
        var gid = groupName is null ? ids.Gid
            : Posix.Group(groupName) ?? throw new OperatorException(new($"prosody_group: no such group '{groupName}' on this machine", ExitCodes.Unusable));
        // Group first: after setuid we could no longer change it. glibc applies both to every thread.
        if (Posix.setgid(gid) != 0 || Posix.initgroups(user, gid) != 0 || Posix.setuid(ids.Uid) != 0)
            throw new OperatorException(new($"prosody_user: could not switch to user '{user}': {Posix.LastError()}", ExitCodes.Unusable));
        if (config.Path is { } path && !Readable(path))
            throw new OperatorException(new($"prosody_user: the config {path} is not readable by '{user}', so it could not be reloaded", ExitCodes.Unusable));
        Log.Info($"Switched to user {user} (uid {ids.Uid}, gid {gid})");
        return false;
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
