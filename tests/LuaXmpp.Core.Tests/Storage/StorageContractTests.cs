using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Storage;

/// <summary>The storage API's behaviour, run against every driver.</summary>
public abstract class StorageContractTests : IDisposable
{
    protected const string Host = "example.com";

    protected StorageContractTests(string driver)
        : this(new Dictionary<string, object?> { ["storage"] = driver })
    {
    }

    /// <param name="options">Global config options (storage, sql, ...).</param>
    protected StorageContractTests(Dictionary<string, object?> options)
    {
        Directory = new TempDirectory();
        Config = ServerConfig.Create(options, Host);
        Manager = new StorageManager(Config, Directory.Path);
    }

    protected TempDirectory Directory { get; }

    protected ServerConfig Config { get; }

    protected StorageManager Manager { get; private set; }

    /// <summary>Closes and reopens the manager on the same data path (data survives only with a persistent driver).</summary>
    protected void Reopen()
    {
        Manager.Dispose();
        Manager = new StorageManager(Config, Directory.Path);
    }

    public void Dispose()
    {
        Manager.Dispose();
        Directory.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static XmlElement Message(string body, string? id = null)
    {
        var m = new XmlElement("message", Namespaces.Client);
        m["type"] = "chat";
        if (id is not null) m["id"] = id;
        m.AddTextChild("body", body);
        return m;
    }

    // ---- keyval ----

    [Fact]
    public async Task KeyValue_Get_ReturnsNullForUnknownUser()
    {
        Assert.Null(await Manager.OpenKeyValue(Host, "private").GetAsync("nobody"));
    }

    [Fact]
    public async Task KeyValue_SetThenGet_RoundTripsAllValueKinds()
    {
        var store = Manager.OpenKeyValue(Host, "roster");
        var data = new DataTable
        {
            [false] = new DataTable { ["version"] = 3L },
            ["bob@example.net"] = new DataTable
            {
                ["subscription"] = "both",
                ["name"] = "Bob \"the\" builder\n",
                ["groups"] = new DataTable { ["Friends"] = true },
            },
            ["int"] = 42L,
            ["negative"] = -7L,
            ["float"] = 1.5,
            ["integral float"] = 3.0,
            ["yes"] = true,
            ["no"] = false,
            ["list"] = new DataTable { [1L] = "a", [2L] = "b", [3L] = 3L },
            ["mixed"] = new DataTable { [1L] = "first", ["k"] = "v", [10L] = "ten", [true] = "t" },
            ["empty"] = new DataTable(),
            [7L] = "seven",
            ["stanza"] = Message("hello"),
        };
        await store.SetAsync("alice", data);

        var got = await store.GetAsync("alice");

        Assert.NotNull(got);
        Assert.Equal(3L, got.GetTable(false)!["version"]);
        var bob = got.GetTable("bob@example.net")!;
        Assert.Equal("both", bob["subscription"]);
        Assert.Equal("Bob \"the\" builder\n", bob["name"]);
        Assert.Equal(true, bob.GetTable("groups")!["Friends"]);
        Assert.Equal(42L, got["int"]);
        Assert.Equal(-7L, got["negative"]);
        Assert.Equal(1.5, got["float"]);
        Assert.Equal(3.0, Assert.IsType<double>(got["integral float"]));
        Assert.Equal(true, got["yes"]);
        Assert.Equal(false, got["no"]);
        Assert.Equal(new object?[] { "a", "b", 3L }, new[] { 1L, 2L, 3L }.Select(i => got.GetTable("list")![i]));
        var mixed = got.GetTable("mixed")!;
        Assert.Equal(4, mixed.Count);
        Assert.Equal("first", mixed[1L]);
        Assert.Equal("v", mixed["k"]);
        Assert.Equal("ten", mixed[10L]);
        Assert.Equal("t", mixed[true]);
        Assert.Empty(got.GetTable("empty")!);
        Assert.Equal("seven", got[7L]);
        // A driver returns the element, or (internal, as Prosody's files hold it) its preserialized table.
        var stanza = Assert.IsType<XmlElement>(StoredStanza.FromValue(got["stanza"]));
        Assert.Equal(Namespaces.Client, stanza.Namespace);
        Assert.Equal("hello", stanza.ChildText("body", Namespaces.Client));
    }

    [Fact]
    public async Task KeyValue_Set_ReplacesWholeTable()
    {
        var store = Manager.OpenKeyValue(Host, "s");
        await store.SetAsync("u", new DataTable { ["a"] = "1", [false] = "x" });
        await store.SetAsync("u", new DataTable { ["b"] = "2" });

        var got = await store.GetAsync("u");

        Assert.Equal(new DataTable { ["b"] = "2" }, got);
    }

    [Fact]
    public async Task KeyValue_SetNullOrEmpty_Deletes()
    {
        var store = Manager.OpenKeyValue(Host, "s");
        await store.SetAsync("u", new DataTable { ["a"] = "1" });
        await store.SetAsync("u", null);
        await store.SetAsync("v", new DataTable { ["a"] = "1" });
        await store.SetAsync("v", new DataTable());

        Assert.Null(await store.GetAsync("u"));
        Assert.Null(await store.GetAsync("v"));
    }

    [Fact]
    public async Task KeyValue_HostData_IsSeparateFromUsers()
    {
        var store = Manager.OpenKeyValue(Host, "s");
        await store.SetAsync(null, new DataTable { ["host"] = true });
        await store.SetAsync("u", new DataTable { ["user"] = true });

        Assert.Equal(true, (await store.GetAsync(null))!["host"]);
        Assert.False((await store.GetAsync(null))!.ContainsKey("user"));
        Assert.Equal(["u"], await ToList(store.UsersAsync()));
    }

    [Fact]
    public async Task KeyValue_Users_ListsOnlyUsersOfThatStoreAndHost()
    {
        await Manager.OpenKeyValue(Host, "a").SetAsync("one", new DataTable { ["x"] = 1L });
        await Manager.OpenKeyValue(Host, "a").SetAsync("two'%_", new DataTable { [false] = 1L });
        await Manager.OpenKeyValue(Host, "b").SetAsync("three", new DataTable { ["x"] = 1L });
        await Manager.OpenKeyValue("other.example", "a").SetAsync("four", new DataTable { ["x"] = 1L });

        var users = await ToList(Manager.OpenKeyValue(Host, "a").UsersAsync());

        Assert.Equal(["one", "two'%_"], users.Order());
    }

    [Fact]
    public async Task KeyValue_ReturnedTable_IsACopy()
    {
        var store = Manager.OpenKeyValue(Host, "s");
        var data = new DataTable { ["a"] = new DataTable { ["b"] = "c" } };
        await store.SetAsync("u", data);
        data.GetTable("a")!["b"] = "changed";
        (await store.GetAsync("u"))!.GetTable("a")!["b"] = "changed too";

        Assert.Equal("c", (await store.GetAsync("u"))!.GetTable("a")!["b"]);
    }

    [Fact]
    public async Task KeyValue_UserNamesWithQuotesAndWildcards_AreExact()
    {
        var store = Manager.OpenKeyValue(Host, "s");
        await store.SetAsync("a%", new DataTable { ["v"] = "percent" });
        await store.SetAsync("a_", new DataTable { ["v"] = "underscore" });
        await store.SetAsync("o'hara\"", new DataTable { ["v"] = "quotes" });

        Assert.Equal("percent", (await store.GetAsync("a%"))!["v"]);
        Assert.Equal("underscore", (await store.GetAsync("a_"))!["v"]);
        Assert.Equal("quotes", (await store.GetAsync("o'hara\""))!["v"]);
        Assert.Null(await store.GetAsync("ab"));
    }

    // ---- map ----

    [Fact]
    public async Task Map_SetAndGet_StringAndNonStringKeys()
    {
        var map = Manager.OpenMap(Host, "m");
        await map.SetAsync("u", "name", "value");
        await map.SetAsync("u", false, new DataTable { ["version"] = 1L });
        await map.SetAsync("u", 5, "five");
        await map.SetAsync("u", "", "empty key");

        Assert.Equal("value", await map.GetAsync("u", "name"));
        Assert.Equal(1L, Assert.IsType<DataTable>(await map.GetAsync("u", false))["version"]);
        Assert.Equal("five", await map.GetAsync("u", 5L));
        Assert.Equal("empty key", await map.GetAsync("u", ""));
        Assert.Null(await map.GetAsync("u", "missing"));
        Assert.Null(await map.GetAsync("u", true));
    }

    [Fact]
    public async Task Map_SetNull_DeletesOnlyThatKey()
    {
        var map = Manager.OpenMap(Host, "m");
        await map.SetKeysAsync("u", new Dictionary<object, object?> { ["a"] = 1L, ["b"] = 2L, [false] = "f", [true] = "t" });
        await map.SetAsync("u", "a", null);
        await map.SetAsync("u", false, null);

        Assert.Null(await map.GetAsync("u", "a"));
        Assert.Equal(2L, await map.GetAsync("u", "b"));
        Assert.Null(await map.GetAsync("u", false));
        Assert.Equal("t", await map.GetAsync("u", true));
    }

    [Fact]
    public async Task MapAndKeyValue_OnSameStore_SeeSameData()
    {
        var kv = Manager.OpenKeyValue(Host, "roster");
        var map = Manager.OpenMap(Host, "roster");
        await kv.SetAsync("u", new DataTable { ["bob@x"] = new DataTable { ["subscription"] = "to" }, [false] = new DataTable { ["version"] = 1L } });

        Assert.Equal("to", Assert.IsType<DataTable>(await map.GetAsync("u", "bob@x"))["subscription"]);
        Assert.Equal(1L, Assert.IsType<DataTable>(await map.GetAsync("u", false))["version"]);

        await map.SetAsync("u", "carol@x", new DataTable { ["subscription"] = "none" });
        await map.SetAsync("u", false, new DataTable { ["version"] = 2L });
        await map.SetAsync("u", "bob@x", null);
        var all = await kv.GetAsync("u");

        Assert.NotNull(all);
        Assert.Equal(2, all.Count);
        Assert.Equal("none", all.GetTable("carol@x")!["subscription"]);
        Assert.Equal(2L, all.GetTable(false)!["version"]);
    }

    [Fact]
    public async Task Map_RemovingLastKey_LeavesNoUserData()
    {
        var map = Manager.OpenMap(Host, "m");
        await map.SetAsync("u", false, "x");
        await map.SetAsync("u", false, null);

        Assert.Null(await Manager.OpenKeyValue(Host, "m").GetAsync("u"));
    }

    // ---- archive ----

    private async Task<(IArchiveStore Store, string[] Ids)> FillArchive(int count = 10)
    {
        var archive = Manager.OpenArchive(Host, "archive");
        var ids = new string[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = await archive.AppendAsync("alice", null, Message("m" + i), 1000 + i * 10, i % 2 == 0 ? "bob@example.net" : "carol@example.net");
        }
        return (archive, ids);
    }

    private static string[] Bodies(ArchiveResult r) => r.Items.Select(i => i.Value.ChildText("body")!).ToArray();

    [Fact]
    public async Task Archive_Append_GeneratesUniqueKeys()
    {
        var (_, ids) = await FillArchive();

        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.False(string.IsNullOrEmpty(id)));
    }

    [Fact]
    public async Task Archive_FindAll_ReturnsItemsInOrderWithFields()
    {
        var (archive, ids) = await FillArchive(3);

        var r = await archive.FindAsync("alice", new ArchiveQuery());

        Assert.Equal(["m0", "m1", "m2"], Bodies(r));
        Assert.Equal(ids, r.Items.Select(i => i.Key));
        Assert.Equal([1000L, 1010L, 1020L], r.Items.Select(i => i.When));
        Assert.Equal("bob@example.net", r.Items[0].With);
        Assert.Equal(Namespaces.Client, r.Items[0].Value.Namespace);
        Assert.Equal("chat", r.Items[0].Value["type"]);
        Assert.Null(r.Total);
        Assert.False(r.UnknownId);
    }

    [Fact]
    public async Task Archive_Find_WithFilterIsExact()
    {
        var (archive, _) = await FillArchive();

        var r = await archive.FindAsync("alice", new ArchiveQuery { With = "bob@example.net", WantTotal = true });
        var none = await archive.FindAsync("alice", new ArchiveQuery { With = "bob@example.%" });

        Assert.Equal(["m0", "m2", "m4", "m6", "m8"], Bodies(r));
        Assert.Equal(5, r.Total);
        Assert.Empty(none.Items);
    }

    [Fact]
    public async Task Archive_Find_StartAndEndAreInclusive()
    {
        var (archive, _) = await FillArchive();

        Assert.Equal(["m2", "m3", "m4"], Bodies(await archive.FindAsync("alice", new ArchiveQuery { Start = 1020, End = 1040 })));
        Assert.Equal(["m8", "m9"], Bodies(await archive.FindAsync("alice", new ArchiveQuery { Start = 1080 })));
        Assert.Equal(["m0", "m1"], Bodies(await archive.FindAsync("alice", new ArchiveQuery { End = 1010 })));
    }

    [Fact]
    public async Task Archive_Find_LimitAndReverse()
    {
        var (archive, _) = await FillArchive();

        Assert.Equal(["m0", "m1", "m2"], Bodies(await archive.FindAsync("alice", new ArchiveQuery { Limit = 3 })));
        Assert.Equal(["m9", "m8", "m7"], Bodies(await archive.FindAsync("alice", new ArchiveQuery { Limit = 3, Reverse = true })));
        Assert.Empty((await archive.FindAsync("alice", new ArchiveQuery { Limit = 0 })).Items);
    }

    [Fact]
    public async Task Archive_Find_PagingForwardWithAfter()
    {
        var (archive, ids) = await FillArchive();

        var page1 = await archive.FindAsync("alice", new ArchiveQuery { Limit = 4, WantTotal = true });
        var page2 = await archive.FindAsync("alice", new ArchiveQuery { Limit = 4, After = page1.Items[^1].Key, WantTotal = true });
        var page3 = await archive.FindAsync("alice", new ArchiveQuery { Limit = 4, After = page2.Items[^1].Key });

        Assert.Equal(["m0", "m1", "m2", "m3"], Bodies(page1));
        Assert.Equal(["m4", "m5", "m6", "m7"], Bodies(page2));
        Assert.Equal(["m8", "m9"], Bodies(page3));
        Assert.Equal(10, page1.Total);
        Assert.Equal(10, page2.Total); // the count ignores Before/After/Limit (XEP-0059 count)
        Assert.Equal(ids[4], page2.Items[0].Key);
    }

    [Fact]
    public async Task Archive_Find_PagingBackwardWithBefore()
    {
        var (archive, _) = await FillArchive();

        var last = await archive.FindAsync("alice", new ArchiveQuery { Limit = 4, Reverse = true });
        var previous = await archive.FindAsync("alice", new ArchiveQuery { Limit = 4, Reverse = true, Before = last.Items[^1].Key });

        Assert.Equal(["m9", "m8", "m7", "m6"], Bodies(last));
        Assert.Equal(["m5", "m4", "m3", "m2"], Bodies(previous));
    }

    [Fact]
    public async Task Archive_Find_BeforeAndAfterTogether()
    {
        var (archive, ids) = await FillArchive();

        var r = await archive.FindAsync("alice", new ArchiveQuery { After = ids[2], Before = ids[6], With = "bob@example.net" });

        Assert.Equal(["m4"], Bodies(r));
    }

    [Fact]
    public async Task Archive_Find_UnknownIdIsReported()
    {
        var (archive, _) = await FillArchive();

        var r = await archive.FindAsync("alice", new ArchiveQuery { After = "no-such-id'--", WantTotal = true });
        var r2 = await archive.FindAsync("alice", new ArchiveQuery { Before = "no-such-id" });

        Assert.True(r.UnknownId);
        Assert.Empty(r.Items);
        Assert.True(r2.UnknownId);
    }

    [Fact]
    public async Task Archive_Find_IdOfAnotherUserIsUnknown()
    {
        var (archive, ids) = await FillArchive(2);

        var r = await archive.FindAsync("bob", new ArchiveQuery { After = ids[0] });

        Assert.True(r.UnknownId);
    }

    [Fact]
    public async Task Archive_Find_ByIds()
    {
        var (archive, ids) = await FillArchive();

        var r = await archive.FindAsync("alice", new ArchiveQuery { Ids = [ids[7], ids[1], "x'y%_"], WantTotal = true });

        Assert.Equal(["m1", "m7"], Bodies(r));
        Assert.Equal(2, r.Total);
    }

    [Fact]
    public async Task Archive_Find_TotalCountsAllMatchesRegardlessOfLimit()
    {
        var (archive, _) = await FillArchive();

        var r = await archive.FindAsync("alice", new ArchiveQuery { Start = 1030, Limit = 2, WantTotal = true });

        Assert.Equal(["m3", "m4"], Bodies(r));
        Assert.Equal(7, r.Total);
    }

    [Fact]
    public async Task Archive_AppendWithExistingKey_ReplacesAndMovesToEnd()
    {
        var (archive, ids) = await FillArchive(3);

        var key = await archive.AppendAsync("alice", ids[0], Message("replaced"), 5000, null);
        var r = await archive.FindAsync("alice", new ArchiveQuery());

        Assert.Equal(ids[0], key);
        Assert.Equal(["m1", "m2", "replaced"], Bodies(r));
        Assert.Null(r.Items[^1].With);
    }

    [Fact]
    public async Task Archive_KeysAndUsersWithSpecialCharacters_AreExact()
    {
        var archive = Manager.OpenArchive(Host, "archive");
        await archive.AppendAsync("o'brien%", "id'1%_", Message("a"), 1, "x'@y%_z");
        await archive.AppendAsync("o'brien_", "id'2", Message("b"), 2, "x'@yQz");

        var r = await archive.FindAsync("o'brien%", new ArchiveQuery { With = "x'@y%_z", After = null, Ids = ["id'1%_"] });
        var r2 = await archive.FindAsync("o'brien%", new ArchiveQuery { With = "x'@y__z" });

        Assert.Equal(["a"], Bodies(r));
        Assert.Equal("x'@y%_z", r.Items[0].With);
        Assert.Empty(r2.Items);
    }

    [Fact]
    public async Task Archive_UsersAndStoresAreSeparate()
    {
        var (_, _) = await FillArchive(2);
        await Manager.OpenArchive(Host, "other").AppendAsync("alice", null, Message("other"), 1, null);

        Assert.Empty((await Manager.OpenArchive(Host, "archive").FindAsync("bob", new ArchiveQuery())).Items);
        Assert.Equal(["other"], Bodies(await Manager.OpenArchive(Host, "other").FindAsync("alice", new ArchiveQuery())));
        Assert.Empty((await Manager.OpenArchive("other.example", "archive").FindAsync("alice", new ArchiveQuery())).Items);
    }

    [Fact]
    public async Task Archive_Delete_WithFilters()
    {
        var (archive, ids) = await FillArchive();

        var n = await archive.DeleteAsync("alice", new ArchiveQuery { With = "carol@example.net", End = 1050 });
        var r = await archive.FindAsync("alice", new ArchiveQuery());

        Assert.Equal(3, n);
        Assert.Equal(["m0", "m2", "m4", "m6", "m7", "m8", "m9"], Bodies(r));
        Assert.Equal(1, await archive.DeleteAsync("alice", new ArchiveQuery { Ids = [ids[9]] }));
        Assert.Equal(0, await archive.DeleteAsync("alice", new ArchiveQuery { After = "unknown" }));
    }

    [Fact]
    public async Task Archive_Delete_WithLimitRemovesOldestFirst()
    {
        var (archive, _) = await FillArchive();

        Assert.Equal(3, await archive.DeleteAsync("alice", new ArchiveQuery { Limit = 3 }));
        Assert.Equal(2, await archive.DeleteAsync("alice", new ArchiveQuery { Limit = 2, Reverse = true }));

        Assert.Equal(["m3", "m4", "m5", "m6", "m7"], Bodies(await archive.FindAsync("alice", new ArchiveQuery())));
    }

    [Fact]
    public async Task Archive_DeleteAll_LeavesOtherUsers()
    {
        var (archive, _) = await FillArchive(3);
        await archive.AppendAsync("bob", null, Message("bob's"), 1, null);

        Assert.Equal(3, await archive.DeleteAsync("alice", new ArchiveQuery()));
        Assert.Single((await archive.FindAsync("bob", new ArchiveQuery())).Items);
    }

    [Fact]
    public async Task Archive_DeleteOlderThan_WorksInBoundedBatchesAcrossUsers()
    {
        var (archive, _) = await FillArchive(); // when 1000..1090
        await archive.AppendAsync("bob", null, Message("old"), 500, null);
        await archive.AppendAsync("bob", null, Message("new"), 5000, null);

        var first = await archive.DeleteOlderThanAsync(1050, 4);
        var second = await archive.DeleteOlderThanAsync(1050, 4);
        var third = await archive.DeleteOlderThanAsync(1050, 4);

        Assert.Equal([4L, 2L, 0L], new[] { first, second, third });
        Assert.Equal(["m5", "m6", "m7", "m8", "m9"], Bodies(await archive.FindAsync("alice", new ArchiveQuery())));
        Assert.Equal(["new"], Bodies(await archive.FindAsync("bob", new ArchiveQuery())));
    }

    [Fact]
    public async Task Archive_StanzaWithNamespacesAndAttributes_RoundTrips()
    {
        var archive = Manager.OpenArchive(Host, "archive");
        var m = Message("x < y & 'z'");
        m["xml:lang"] = "en";
        m.AddChild("active", "http://jabber.org/protocol/chatstates");
        var ext = m.AddChild("x", "urn:example");
        ext.SetAttribute("urn:example:attr" + XmlAttribute.NamespaceSeparator + "flag", "1");
        ext.AddChild("inner").AddText("  spaced  ");
        await archive.AppendAsync("alice", "k", m, 1, null);

        var got = (await archive.FindAsync("alice", new ArchiveQuery())).Items.Single().Value;

        Assert.Equal(m.ToString(), got.ToString());
        Assert.Equal("en", got["xml:lang"]);
        Assert.Equal("x < y & 'z'", got.ChildText("body", Namespaces.Client));
        Assert.NotNull(got.Element("active", "http://jabber.org/protocol/chatstates"));
        var gotExt = got.Element("x", "urn:example")!;
        Assert.Equal("1", gotExt["urn:example:attr\u0001flag"]);
        Assert.Equal("  spaced  ", gotExt.ChildText("inner", "urn:example"));
    }

    // ---- purge ----

    [Fact]
    public async Task PurgeUser_RemovesEveryStoreOfThatUserOnly()
    {
        await Manager.OpenKeyValue(Host, "roster").SetAsync("alice", new DataTable { ["a"] = 1L });
        await Manager.OpenKeyValue(Host, "vcard").SetAsync("alice", new DataTable { ["a"] = 1L });
        await Manager.OpenKeyValue(Host, "vcard").SetAsync("bob", new DataTable { ["a"] = 1L });
        await Manager.OpenKeyValue("other.example", "vcard").SetAsync("alice", new DataTable { ["a"] = 1L });
        await Manager.OpenArchive(Host, "archive").AppendAsync("alice", null, Message("m"), 1, null);

        await Manager.PurgeUserAsync(Host, "alice");

        Assert.Null(await Manager.OpenKeyValue(Host, "roster").GetAsync("alice"));
        Assert.Null(await Manager.OpenKeyValue(Host, "vcard").GetAsync("alice"));
        Assert.NotNull(await Manager.OpenKeyValue(Host, "vcard").GetAsync("bob"));
        Assert.NotNull(await Manager.OpenKeyValue("other.example", "vcard").GetAsync("alice"));
        Assert.Empty((await Manager.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery())).Items);
    }

    protected static async Task<List<string>> ToList(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var i in items) list.Add(i);
        return list;
    }
}
