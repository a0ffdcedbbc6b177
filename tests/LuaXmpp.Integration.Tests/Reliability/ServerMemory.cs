using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Reliability;

/// <summary>The resident memory of a running server process, from /proc (Linux).</summary>
public static class ServerMemory
{
    /// <summary>The server's pid: the process whose command line names this server's config file.</summary>
    public static int? FindPid(ServerProcess server)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                // LuaXmpp's dll or Prosody's launcher (LUAXMPP_ITEST_SERVER=prosody runs the same tests on it).
                if (cmdline.Contains(server.ConfigPath, StringComparison.Ordinal)
                    && (cmdline.Contains("luaxmpp", StringComparison.Ordinal) || cmdline.Contains("prosody\0", StringComparison.Ordinal))) return pid;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    /// <summary>VmRSS in KiB, or 0 when the process is gone.</summary>
    public static long RssKib(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
