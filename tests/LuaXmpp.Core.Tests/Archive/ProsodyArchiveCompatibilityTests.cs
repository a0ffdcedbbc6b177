using LuaXmpp.Archive;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Modules.TestDoubles;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Archive;

/// <summary>
/// The message archive shared with the real Prosody 0.12 (prosodyctl with a small command module
/// of ours over Prosody's own storagemanager and mod_storage_sql): what Prosody archives, our
/// query path pages through; what our writer archives, Prosody's archive:find pages through.
/// Needs the prosody and lua-dbi-sqlite3 packages.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProsodyArchiveCompatibilityTests : IDisposable
{
    private const string Host = "localhost";

    /// <summary>Appends N messages the way mod_mam stores them, or lists a page as Prosody's mod_mam would ask for it.</summary>
    private const string CommandModule = """
        function module.command(arg)
            local storagemanager = require "core.storagemanager";
            local st = require "util.stanza";
            local cmd, user, host = arg[1], arg[2], arg[3];
            storagemanager.initialize_host(host);
            local archive = storagemanager.open(host, "archive", "archive");
            if cmd == "fill" then
                local count, with, when = tonumber(arg[4]), arg[5], tonumber(arg[6]);
                for i = 1, count do
                    local m = st.message({ to = with, type = "chat", id = "p" .. i }):text_tag("body", "prosody-" .. i);
                    print("RESULT:" .. tostring(archive:append(user, nil, m, when + i, with)));
                end
            elseif cmd == "page" then
                local q = { limit = tonumber(arg[4]), total = true, with = arg[7] ~= "" and arg[7] or nil };
                if arg[5] == "*" then q.reverse = true;
                elseif arg[5] ~= "" then q.before = arg[5]; q.reverse = true; end
                if arg[6] ~= "" then q.after = arg[6]; end
                local items, total = archive:find(user, q);
                if not items then print("RESULT:error " .. tostring(total)); return 0; end
                print("RESULT:total " .. tostring(total));
                for key, stanza, when, with in items do
                    print("RESULT:" .. key .. "|" .. tostring(when) .. "|" .. with .. "|" .. stanza:get_child_text("body"));
                end
            end
            return 0;
        end
        """;

    private readonly ProsodyInstance _prosody = new("lxarchive", CommandModule);

    public void Dispose() => _prosody.Dispose();

    private StorageManager OpenOurs() => new(ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql" }, Host), _prosody.DataPath);

    private static string Body(ArchiveItem item) => item.Value.ChildText("body", "jabber:client") ?? "";

    [Fact]
    public async Task ProsodyArchive_PagesBackwardsThroughOurQueryPath()
    {
        var prosodyIds = Results("fill", "alice", Host, "25", "bob@localhost", "1700000000");
        Results("fill", "alice", Host, "3", "carol@localhost", "1700001000");

        using var storage = OpenOurs();
        await using var service = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions(), new ManualTime());
        var pages = new List<ArchiveItem>();
        string? before = null;
        long? total = null;
        while (true)
        {
            var page = await service.QueryAsync("alice", new ArchiveQuery { With = "bob@localhost", Before = before, Reverse = true, Limit = 10, WantTotal = true });
            total ??= page.Total;
            Assert.Equal(total, page.Total);
            if (page.Items.Count == 0) break;
            pages.AddRange(page.Items);
            before = page.Items[^1].Key;
        }

        Assert.Equal(25, total);
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => "prosody-" + i), pages.Select(Body));
        Assert.Equal(prosodyIds.AsEnumerable().Reverse(), pages.Select(p => p.Key));
        Assert.Equal(1700000025L, pages[0].When);
        Assert.All(pages, p => Assert.Equal("bob@localhost", p.With));
    }

    /// <summary>A file Prosody created has no full-text index: it is built after opening, and finds Prosody's messages.</summary>
    [Fact]
    public async Task ProsodyArchive_IsSearchableOnceIndexedAfterOpening()
    {
        var prosodyIds = Results("fill", "alice", Host, "25", "bob@localhost", "1700000000");

        using var storage = OpenOurs();
        await using var service = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions(), new ManualTime());
        var query = new ArchiveQuery { FullText = FullTextQuery.Parse("prosody-7", out _), WantTotal = true };
        var found = await service.QueryAsync("alice", query);
        for (int attempt = 0; attempt < 100 && found.Items.Count == 0; attempt++)
        {
            await Task.Delay(50); // the catch-up runs behind the first write transaction
            found = await service.QueryAsync("alice", query);
        }

        Assert.Equal(prosodyIds[6], Assert.Single(found.Items).Key);
        Assert.Equal(1, found.Total);
    }

    [Fact]
    public async Task OurArchive_PagesThroughProsodysFind()
    {
        List<string> ours;
        using (var storage = OpenOurs())
        {
            await using var service = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions(), new ManualTime());
            var appended = Enumerable.Range(1, 12).Select(i =>
            {
                var m = new XmlElement("message", "jabber:client");
                m["to"] = "dave@localhost";
                m["type"] = "chat";
                m.AddTextChild("body", "ours-" + i);
                return service.Append("carol", m, 1700000100 + i, "dave@localhost");
            }).ToList();
            await service.FlushAsync();
            ours = appended.Select(a => a.Id).ToList();
        }
        _prosody.ShareDataFiles();

        // As Prosody's mod_mam asks: the last page (reverse, before), then the page before it.
        var last = Results("page", "carol", Host, "5", "*", "", "dave@localhost");
        var earlier = Results("page", "carol", Host, "5", ours[7], "", "");
        var afterThird = Results("page", "carol", Host, "2", "", ours[2], "");

        Assert.Equal("total 12", last[0]);
        Assert.Equal($"{ours[11]}|1700000112|dave@localhost|ours-12", last[1]);
        Assert.Equal(5, last.Count - 1);
        Assert.Equal(Enumerable.Range(3, 5).Reverse().Select(i => "ours-" + i), earlier.Skip(1).Select(l => l.Split('|')[3]));
        Assert.Equal(["ours-4", "ours-5"], afterThird.Skip(1).Select(l => l.Split('|')[3]));
    }

    private List<string> Results(params string[] args) => _prosody.Results(args);

    private string Run(params string[] args) => _prosody.Run(args);
}
