using LuaXmpp.Configuration;
using LuaXmpp.Host.Cli;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// The pidfile, where mod_posix puts it: the <c>pidfile</c> option, relative paths taken from
/// data_path; by default data_path/luaxmpp.pid so that status/reload/stop work without it.
/// </summary>
public static class PidFile
{
    public static string PathFor(ServerConfig config, ServerPaths paths) =>
        ServerPaths.Resolve(paths.DataPath, config.GetString(null, "pidfile") ?? "luaxmpp.pid");

    /// <summary>The PID a live process has in the file, else null (no file, garbage, or a stale PID).</summary>
    public static int? ReadLive(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out var pid) && Posix.Alive(pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes our PID; refuses when the file names another live process.</summary>
    public static void Write(string path)
    {
        if (ReadLive(path) is { } other && other != Environment.ProcessId)
            throw new OperatorException(new($"pidfile: {path} says a server is already running with PID {other}", ExitCodes.Unusable));
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            // Whole or absent for a reader: written beside it, then renamed over it.
            var partial = path + ".new";
            File.WriteAllText(partial, Environment.ProcessId + "\n");
            File.Move(partial, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OperatorException(new($"pidfile: cannot write {path}: {e.Message}", ExitCodes.Unusable));
        }
    }

    /// <summary>Removes the file if it still holds our PID.</summary>
    public static void Remove(string path)
    {
        try
        {
            if (File.Exists(path) && File.ReadAllText(path).Trim() == Environment.ProcessId.ToString()) File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leaving a stale pidfile is harmless: ReadLive checks the process.
        }
    }
}
