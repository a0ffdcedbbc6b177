using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Accounts;

/// <summary>
/// Shares one SQLite database with the real Prosody 0.12 (prosodyctl): accounts and data Prosody
/// writes must work for us, and what we write must work for Prosody. Needs the prosody and
/// lua-dbi-sqlite3 packages; without them the tests fail and say so.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Prosody runs on Unix; the test sets Unix file modes
public sealed class ProsodyCompatibilityTests : IDisposable
{
    private const string Host = "localhost";

    /// <summary>A prosodyctl command module (ours) that calls Prosody's own usermanager and storage.</summary>
    private const string CheckModule = """
        function module.command(arg)
            local usermanager = require "core.usermanager";
            local storagemanager = require "core.storagemanager";
            local json = require "util.json";
            local cmd, user, host = arg[1], arg[2], arg[3];
            storagemanager.initialize_host(host);
            local provider = prosody.hosts[host].users;
            if not provider or provider.name == "null" then usermanager.initialize_host(host); end
            if cmd == "test" then
                local ok, err = usermanager.test_password(user, host, arg[4]);
                print(ok and "RESULT:PASS" or ("RESULT:FAIL " .. tostring(err)));
            elseif cmd == "get" then
                print("RESULT:" .. json.encode_ordered(storagemanager.open(host, arg[4]):get(user)));
            elseif cmd == "set" then
                print("RESULT:" .. tostring(storagemanager.open(host, arg[4]):set(user, json.decode(arg[5]))));
            elseif cmd == "append" then
                local archive = storagemanager.open(host, "archive", "archive");
                local stanza = require "util.xml".parse(arg[4]);
                print("RESULT:" .. tostring(archive:append(user, nil, stanza, tonumber(arg[5]), arg[6])));
            elseif cmd == "find" then
                local archive = storagemanager.open(host, "archive", "archive");
                for key, stanza, when, with in archive:find(user, {}) do
                    print("RESULT:" .. key .. "|" .. tostring(when) .. "|" .. with .. "|" .. tostring(stanza));
                end
            end
            return 0;
        end
        """;

    private readonly ProsodyInstance _prosody = new("lxcheck", CheckModule);

    public void Dispose() => _prosody.Dispose();

    private StorageManager OpenOurs() => new(
        ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql" }, Host), _prosody.DataPath);

    [Fact]
    public async Task ProsodyAccount_AuthenticatesWithOurHashedProvider()
    {
        Run("register", "alice", Host, "pw");

        using var storage = OpenOurs();
        var provider = new InternalHashedProvider(Host, storage);
        var sha1 = await provider.GetScramCredentialsAsync("alice", ScramHash.Sha1);

        Assert.NotNull(sha1);
        Assert.Equal(ScramKeys.Derive(ScramHash.Sha1, "pw", sha1.Salt, sha1.Iterations).StoredKey, sha1.StoredKey);
        Assert.Equal(ScramKeys.Derive(ScramHash.Sha1, "pw", sha1.Salt, sha1.Iterations).ServerKey, sha1.ServerKey);
        Assert.Null(await provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
        Assert.False(await provider.TestPasswordAsync("alice", "wrong"));
        Assert.True(await provider.TestPasswordAsync("alice", "pw"));
        Assert.NotNull(await provider.GetScramCredentialsAsync("alice", ScramHash.Sha256));
        storage.Dispose();
        ShareWithProsody();

        // Our upgrade (extra SHA-256 fields) leaves the account usable by Prosody.
        Assert.Equal(["PASS"], Results("test", "alice", Host, "pw"));
    }

    [Fact]
    public async Task OurAccount_IsVerifiedByProsody()
    {
        using (var storage = OpenOurs())
        {
            Assert.True(await new InternalHashedProvider(Host, storage).CreateUserAsync("bob", "s3cret"));
        }
        ShareWithProsody();

        Assert.Equal(["PASS"], Results("test", "bob", Host, "s3cret"));
        Assert.StartsWith("FAIL", Results("test", "bob", Host, "wrong").Single());
    }

    [Fact]
    public async Task ProsodyData_ReadsBackInOurStores()
    {
        Run("register", "alice", Host, "pw");
        Results("set", "alice", Host, "roster",
            """{"__hash":[false,{"version":3}],"bob@x":{"subscription":"both","groups":{"Friends":true}},"n":[1,2.5,"x"]}""");
        Results("append", "alice", Host, "<message to='bob@x' type='chat' xml:lang='en'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>", "1700000000", "bob@x");
        Results("append", "alice", Host, "<message to='bob@x'><body>second</body></message>", "1700000001", "bob@x");

        using var storage = OpenOurs();
        var roster = await storage.OpenKeyValue(Host, "roster").GetAsync("alice");
        var archive = await storage.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery { Limit = 1, Reverse = true, WantTotal = true });
        var first = await storage.OpenArchive(Host, "archive").FindAsync("alice", new ArchiveQuery { Before = archive.Items[0].Key });

        Assert.NotNull(roster);
        Assert.Equal(3L, roster.GetTable(false)!["version"]);
        Assert.Equal(true, roster.GetTable("bob@x")!.GetTable("groups")!["Friends"]);
        Assert.Equal(new object?[] { 1L, 2.5, "x" }, roster.GetTable("n")!.Values);
        Assert.Equal(2, archive.Total);
        Assert.Equal("second", archive.Items[0].Value.ChildText("body", "jabber:client"));
        var m = Assert.Single(first.Items);
        Assert.Equal(1700000000L, m.When);
        Assert.Equal("bob@x", m.With);
        Assert.Equal("jabber:client", m.Value.Namespace);
        Assert.Equal("en", m.Value["xml:lang"]);
        Assert.Equal("hi & bye", m.Value.ChildText("body", "jabber:client"));
        Assert.NotNull(m.Value.Element("active", "http://jabber.org/protocol/chatstates"));
    }

    [Fact]
    public async Task OurData_ReadsBackInProsody()
    {
        using (var storage = OpenOurs())
        {
            await storage.OpenKeyValue(Host, "roster").SetAsync("carol", new DataTable
            {
                [false] = new DataTable { ["version"] = 7L },
                ["dave@x"] = new DataTable { ["subscription"] = "to", ["groups"] = new DataTable { ["Work"] = true } },
                ["list"] = new DataTable { [1L] = "a", [2L] = 2.5 },
            });
            var m = new XmlElement("message", "jabber:client");
            m["to"] = "dave@x";
            m.AddTextChild("body", "from us");
            await storage.OpenArchive(Host, "archive").AppendAsync("carol", "our-id", m, 1700000005, "dave@x");
        }
        ShareWithProsody();

        var roster = Results("get", "carol", Host, "roster").Single();
        var items = Results("find", "carol", Host);

        Assert.Contains("\"dave@x\":{\"groups\":{\"Work\":true},\"subscription\":\"to\"}", roster);
        Assert.Contains("\"__hash\":[false,{\"version\":7}]", roster);
        Assert.Contains("\"list\":[\"a\",2.5]", roster);
        Assert.Equal(["our-id|1700000005|dave@x|<message to='dave@x'><body>from us</body></message>"], items);
    }

    /// <summary>Lets the prosody user open a database file we created or last wrote.</summary>
    private void ShareWithProsody()
    {
        _prosody.ShareDataFiles();
    }

    private List<string> Results(params string[] args) => _prosody.Results(args);

    private string Run(params string[] args) => _prosody.Run(args);
}
