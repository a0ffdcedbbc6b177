using System.Diagnostics;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// The "internal" driver on files as Prosody leaves them: old items without key or when, a write
/// cut short, a file changed behind our back, files that are not data, and 100 000 messages.
/// </summary>
public sealed class InternalArchiveTests(ITestOutputHelper output) : IDisposable
{
    private const string Host = "example.com";
    private readonly TempDirectory _dir = new();
    private StorageManager? _manager;

    private StorageManager Manager => _manager ??= new StorageManager(ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "internal" }, Host), _dir.Path);

    private string ListPath(string user) => Path.Combine(_dir.Path, "example%2ecom", "archive", user + ".list");

    public void Dispose()
    {
        _manager?.Dispose();
        _dir.Dispose();
    }

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", Namespaces.Client);
        m["type"] = "chat";
        m.AddTextChild("body", body);
        return m;
    }

    private void WriteList(string user, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ListPath(user))!);
        File.WriteAllText(ListPath(user), text);
    }

    [Fact]
    public async Task OldItems_WithoutKeyOrWhen_UseTheirPositionAndStamp()
    {
        WriteList("alice", """
            item({ name = "message"; attr = { stamp = "2020-01-02T03:04:05Z"; type = "chat" }; { name = "body"; attr = {}; "old" } });
            item({ name = "message"; attr = { stamp = "2021-01-01T00:00:00Z" }; key = "k2"; when = 1609459200.75; with = "bob@example.com"; { name = "body"; attr = {}; "newer" } });
            """);

        var items = (await Manager.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery())).Items;

        Assert.Equal(["1", "k2"], items.Select(i => i.Key));
        Assert.Equal([1577934245L, 1609459200L], items.Select(i => i.When));
        Assert.Equal([null, "bob@example.com"], items.Select(i => i.With));
        Assert.Equal("old", items[0].Value.ChildText("body", Namespaces.Client));
        Assert.Null(items[0].Value["stamp"]);
        Assert.Equal("chat", items[0].Value["type"]);
    }

    [Fact]
    public async Task TornLastItem_IsIgnored_AndOverwrittenByTheNextAppend()
    {
        var store = Manager.OpenArchive(Host, "archive");
        await store.AppendAsync("alice", "k1", Message("one"), 1, "bob@example.com");
        File.AppendAllText(ListPath("alice"), "item({\n\t[\"key\"] = \"half");

        var before = (await store.FindAsync("alice", new ArchiveQuery())).Items;
        await store.AppendAsync("alice", "k2", Message("two"), 2, "bob@example.com");
        Reopen();
        var after = (await Manager.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery())).Items;

        Assert.Equal(["k1"], before.Select(i => i.Key));
        Assert.Equal(["k1", "k2"], after.Select(i => i.Key));
        Assert.DoesNotContain("half", File.ReadAllText(ListPath("alice")));
    }

    [Fact]
    public async Task FileChangedBehindOurBack_IsReadAgain()
    {
        var store = Manager.OpenArchive(Host, "archive");
        await store.AppendAsync("alice", "k1", Message("one"), 1, null);
        Assert.Single((await store.FindAsync("alice", new ArchiveQuery())).Items);

        // Prosody (or an operator) appends while the index is cached.
        File.AppendAllText(ListPath("alice"), "item({ name = \"message\"; attr = {}; key = \"p1\"; when = 5; { name = \"body\"; attr = {}; \"from prosody\" } });\n");
        File.SetLastWriteTimeUtc(ListPath("alice"), DateTime.UtcNow.AddSeconds(5));

        var items = (await store.FindAsync("alice", new ArchiveQuery())).Items;
        Assert.Equal(["k1", "p1"], items.Select(i => i.Key));
    }

    [Theory]
    [InlineData("return os.execute('id')")]
    [InlineData("return {} -- fine\nos.exit()")]
    public async Task KeyValueFile_ThatIsCode_IsRefusedNamingTheFile_AndLeftAlone(string text)
    {
        var path = Path.Combine(_dir.Path, "example%2ecom", "accounts", "mallory.dat");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);

        var error = await Assert.ThrowsAsync<StorageException>(() => Manager.OpenKeyValue(Host, "accounts").GetAsync("mallory"));

        Assert.Contains(path, error.Message);
        Assert.Equal(text, File.ReadAllText(path));
    }

    [Fact]
    public async Task ListFile_ThatIsCode_IsRefusedNamingTheFile()
    {
        WriteList("mallory", "item({ key = \"a\" });\nos.execute(\"id\");\n");

        var error = await Assert.ThrowsAsync<StorageException>(() => Manager.OpenArchive(Host, "archive").FindAsync("mallory", new ArchiveQuery()));

        Assert.Contains(ListPath("mallory"), error.Message);
    }

    [Fact]
    public async Task HugeKeyValueFile_IsRefusedWithoutReadingIt()
    {
        var path = Path.Combine(_dir.Path, "example%2ecom", "roster", "big.dat");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var f = File.Create(path)) f.SetLength(LuaXmpp.Storage.Internal.DataFiles.MaxDatBytes + 1); // sparse: no disk used

        var error = await Assert.ThrowsAsync<StorageException>(() => Manager.OpenKeyValue(Host, "roster").GetAsync("big"));

        Assert.Contains("bytes", error.Message);
    }

    [Fact]
    public async Task HundredThousandMessages_QueriedCorrectly_WithTimingsReported()
    {
        const int n = 100_000;
        var store = Manager.OpenArchive(Host, "archive");
        var batch = (IArchiveBatchStore)store;
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (int start = 0; start < n; start += 1000)
        {
            var items = Enumerable.Range(start, 1000)
                .Select(i => new ArchiveAppend("alice", "id" + i, Message("message " + i), 1_700_000_000L + i, i % 10 == 0 ? "bob@example.com" : "carol@example.com"))
                .ToList();
            await batch.AppendBatchAsync(items, durable: false);
        }
        var append = clock.Elapsed;
        output.WriteLine($"append {n} in batches of 1000: {append.TotalMilliseconds:F0} ms wall, {CpuSince(ref cpu)} ms CPU; file {new FileInfo(ListPath("alice")).Length / 1024 / 1024} MiB");

        Reopen();
        store = Manager.OpenArchive(Host, "archive");
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        clock.Restart();
        CpuSince(ref cpu);
        var last = await store.FindAsync("alice", new ArchiveQuery { Limit = 50, Reverse = true, WantTotal = true });
        var firstQuery = clock.Elapsed;
        var firstCpu = CpuSince(ref cpu);
        long indexBytes = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        clock.Restart();
        var withBob = await store.FindAsync("alice", new ArchiveQuery { With = "bob@example.com", Before = "id50000", Limit = 20, Reverse = true, WantTotal = true });
        var page = await store.FindAsync("alice", new ArchiveQuery { After = "id99990", Limit = 50 });
        var range = await store.FindAsync("alice", new ArchiveQuery { Start = 1_700_000_000L + 200, End = 1_700_000_000L + 209 });
        var warmQueries = clock.Elapsed;
        output.WriteLine($"first query (index build) {firstQuery.TotalMilliseconds:F0} ms wall, {firstCpu} ms CPU, index ~{indexBytes / 1024 / 1024} MiB; three warm queries {warmQueries.TotalMilliseconds:F1} ms");

        Assert.Equal(n, last.Total);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => "id" + (n - 1 - i)), last.Items.Select(i => i.Key));
        Assert.Equal("message 99999", last.Items[0].Value.ChildText("body", Namespaces.Client));
        Assert.Equal(n / 10, withBob.Total);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "id" + (49990 - i * 10)), withBob.Items.Select(i => i.Key));
        Assert.Equal(Enumerable.Range(99991, 9).Select(i => "id" + i), page.Items.Select(i => i.Key));
        Assert.Equal(Enumerable.Range(200, 10).Select(i => "id" + i), range.Items.Select(i => i.Key));

        clock.Restart();
        CpuSince(ref cpu);
        long deleted = await store.DeleteOlderThanAsync(1_700_000_000L + 1000, 5000);
        output.WriteLine($"expiry of 1000 items (rewrites the file): {clock.Elapsed.TotalMilliseconds:F0} ms wall, {CpuSince(ref cpu)} ms CPU");
        Assert.Equal(1000, deleted);
        Assert.Equal(n - 1000, (await store.FindAsync("alice", new ArchiveQuery { Limit = 0, WantTotal = true })).Total);
    }

    /// <summary>This process's CPU time since the last call: the machine is shared, wall time says little.</summary>
    private static long CpuSince(ref TimeSpan last)
    {
        var now = Process.GetCurrentProcess().TotalProcessorTime;
        var spent = (long)(now - last).TotalMilliseconds;
        last = now;
        return spent;
    }

    private void Reopen()
    {
        _manager?.Dispose();
        _manager = null;
    }
}
