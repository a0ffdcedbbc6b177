using LuaXmpp.Loop;
using LuaXmpp.Storage.Sql;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Loop;

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
        var writers = Directory.GetDirectories("/proc/self/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "luaxmpp-sqlite-")
            .Select(task => NiceOf("self/task/" + Path.GetFileName(task)))
            .ToList();

        Assert.NotEmpty(writers);
        int process = NiceOf("self");
        Assert.All(writers, nice => Assert.Equal(Math.Min(19, process + BackgroundPriority.Nice), nice));
    }

    [Fact]
    public async Task SqliteWrites_CompletedFromTheLowPriorityWriter_LeaveNoPoolThreadLowered()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var db = new SqliteDatabase(Path.Combine(_dir.Path, "pool.sqlite"));
        var archive = db.OpenArchive("localhost", "archive");
        // Continuations that hold their pool thread make the pool add threads while the writes
        // complete; a thread added from the writer's thread would inherit its nice value.
        var held = Enumerable.Range(0, 3 * Environment.ProcessorCount + 4)
            .Select(_ => archive.AppendAsync("bob", null, new XmlElement("message", "jabber:client"), 0, "")
                .ContinueWith(_ => Thread.Sleep(200), TaskScheduler.Default))
            .ToList();
        await Task.WhenAll(held);

        int process = NiceOf("self");
        var lowered = Directory.GetDirectories("/proc/self/task")
            .Select(task => (Name: File.ReadAllText(Path.Combine(task, "comm")).Trim(), Nice: NiceOf("self/task/" + Path.GetFileName(task))))
            .Where(t => t.Name.StartsWith(".NET TP", StringComparison.Ordinal) && t.Nice != process)
            .ToList();
        Assert.Empty(lowered);
    }

    // Field 19 of /proc/<pid>/stat (after the parenthesised name, which may contain spaces).
    private static int NiceOf(string proc)
    {
        var stat = File.ReadAllText($"/proc/{proc}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3]);
    }
}
