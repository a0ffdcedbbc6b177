using LuaXmpp.Threading;
using LuaXmpp.Storage.Sql;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Threading;

/// <summary>
/// Background writers give way to the loop and socket threads when the cores are contended: on
/// Linux they run at nice 10, the loop (and whoever else did not ask) at the process's own value.
/// </summary>
public sealed class BackgroundPriorityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LowerCurrentThread_OnLinux_LowersOnlyTheCallingThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        int before = NiceOf("thread-self");
        int lowered = int.MinValue;
        bool applied = false;
        var thread = new Thread(() =>
        {
            applied = BackgroundPriority.LowerCurrentThread();
            lowered = NiceOf("thread-self");
        });
        thread.Start();
        thread.Join();

        Assert.True(applied);
        Assert.Equal(Math.Min(19, before + BackgroundPriority.Nice), lowered);
        Assert.Equal(before, NiceOf("thread-self"));
    }

    [Fact]
    public async Task SqliteWriterThread_RunsAtTheLowerPriority()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var db = new SqliteDatabase(Path.Combine(_dir.Path, "nice.sqlite"));
        await db.OpenArchive("localhost", "archive").AppendAsync("bob", null, new XmlElement("message", "jabber:client"), 0, "");

        // Thread names are cut to 15 bytes in /proc: "luaxmpp-sqlite-writer" shows as "luaxmpp-sqlite-".
        // Other tests' threads end while the list is read (their /proc entries vanish): skip those.
        var writers = Directory.GetDirectories("/proc/self/task")
            .Where(task => ReadOrNull(Path.Combine(task, "comm"))?.Trim() == "luaxmpp-sqlite-")
            .Select(task => NiceOf("self/task/" + Path.GetFileName(task)))
            .ToList();

        Assert.NotEmpty(writers);
        int process = NiceOf("self");
        Assert.All(writers, nice => Assert.Equal(Math.Min(19, process + BackgroundPriority.Nice), nice));
    }

    [Fact]
    public void CompletionRelay_PostedFromALoweredThread_CreatesThreadsAtTheRelaysPriority()
    {
        if (!OperatingSystem.IsLinux()) return;
        int process = NiceOf("self");
        using var relay = new CompletionRelay("test-relay");
        int inline = int.MinValue, relayed = int.MinValue;
        using var done = new ManualResetEventSlim();
        var lowered = new Thread(() =>
        {
            BackgroundPriority.LowerCurrentThread();
            // A thread created here inherits the lowered value (what a pool worker created from
            // the SQLite writer would get); one created by the relay's action does not.
            inline = NiceOfNewThread();
            relay.Post(() =>
            {
                relayed = NiceOfNewThread();
                done.Set();
            });
        });
        lowered.Start();
        lowered.Join();

        Assert.True(done.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(Math.Min(19, process + BackgroundPriority.Nice), inline);
        Assert.Equal(process, relayed);
    }

    private static int NiceOfNewThread()
    {
        int nice = int.MinValue;
        var thread = new Thread(() => nice = NiceOf("thread-self"));
        thread.Start();
        thread.Join();
        return nice;
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or FileNotFoundException)
        {
            return null;
        }
    }

    // Field 19 of /proc/<pid>/stat (after the parenthesised name, which may contain spaces).
    private static int NiceOf(string proc)
    {
        var stat = File.ReadAllText($"/proc/{proc}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3]);
    }
}
