using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Reliability;

/// <summary>Reads the server's log file while it runs.</summary>
public static class ServerLog
{
    public static string Read(ServerProcess server)
    {
        if (!File.Exists(server.LogPath)) return "";
        using var stream = new FileStream(server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Polls the log until it mentions <paramref name="text"/>; false after the timeout.</summary>
    public static async Task<bool> ContainsAsync(ServerProcess server, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (Read(server).Contains(text, StringComparison.Ordinal)) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(100);
        }
    }

    /// <summary>How many log lines contain <paramref name="text"/>.</summary>
    public static int Count(ServerProcess server, string text) =>
        Read(server).Split('\n').Count(line => line.Contains(text, StringComparison.Ordinal));
}
