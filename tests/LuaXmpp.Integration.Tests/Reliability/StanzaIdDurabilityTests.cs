using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Issue 16, item 5: a stanza-id (XEP-0359, the archive's id) is delivered only for a message
/// that is, or will be, in the archive. The data directory and the log sit on a 4 MiB tmpfs that
/// a filler file fills; alice sends messages to carol (online) while nothing can be written.
/// Batched mode holds the failed writes (ids already out) up to <c>archive_hold_limit</c>, then
/// delivers without a stanza-id and warns the sender (an error of type <c>continue</c>); strict
/// mode bounces. After the filler is deleted every stanza-id carol received is in her archive.
/// </summary>
public sealed class StanzaIdDurabilityTests(ITestOutputHelper output)
{
    private const string Host = "localhost";
    private const string SidNs = "urn:xmpp:sid:0";
    private const string MamNs = "urn:xmpp:mam:2";
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What became of one message: its stanza-id at carol, or the error alice got.</summary>
    private sealed class Outcome
    {
        public bool Delivered;
        public string? StanzaId;
        public string? ErrorType;
    }

    [MountTheory]
    [InlineData("batched")]
    [InlineData("strict")]
    public async Task DiskFull_DeliveredStanzaIdsAreAllArchived_OthersWarnedOrBounced(string durability)
    {
        int messages = ReliabilitySize.Pick("STANZA_ID_MESSAGES", ci: 20, full: 1_000);
        await using var disk = await TmpfsMount.CreateAsync(sizeKib: 4096);
        await using var server = await ServerProcess.StartAsync(output, c => c
            .Set("data_path", ServerConfig.Lua(disk.Path))
            .Set("log", $"{{ info = {ServerConfig.Lua(Path.Combine(disk.Path, "server.log"))} }}")
            .Set("archive_durability", ServerConfig.Lua(durability))
            .Set("archive_hold_limit", "6")
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "register", "offline", "mam")));
        await using var carol = await LoginAsync(server, "carol");
        await using var alice = await LoginAsync(server, "alice");

        await StorageFaultTests.TruncateWalAsync(disk.Path);
        disk.Fill();
        var outcomes = new Dictionary<string, Outcome>();
        // One at a time until the writer refuses (batched) or bounces (strict), so both the held
        // and the refused paths run; then the rest in one burst.
        int sent = 0;
        while (sent < messages)
        {
            sent++;
            await alice.SendAsync(Message(sent));
            await CollectAsync(alice, carol, outcomes, sent);
            if (outcomes.Values.Any(o => o.StanzaId is null)) break;
        }
        if (sent < messages)
        {
            await alice.SendAsync(string.Concat(Enumerable.Range(sent + 1, messages - sent).Select(Message)));
            sent = messages;
        }
        await CollectAsync(alice, carol, outcomes, sent, drain: true);
        Assert.True(await alice.PingAsync(Host, "p-full"), "no ping answer while the disk was full");

        disk.FreeFiller();
        var withId = outcomes.Where(o => o.Value.Delivered && o.Value.StanzaId is not null).ToDictionary(o => o.Key, o => o.Value.StanzaId!);
        var archived = await WaitForArchivedAsync(carol, withId.Values.ToHashSet());
        var pointless = withId.Where(o => !archived.Contains(o.Value)).Select(o => o.Key).ToList();
        int withoutId = outcomes.Values.Count(o => o.Delivered && o.StanzaId is null);
        int warned = outcomes.Values.Count(o => o.Delivered && o.StanzaId is null && o.ErrorType == "continue");
        int bounced = outcomes.Values.Count(o => !o.Delivered);
        output.WriteLine($"{durability}: {messages} messages while full: {withId.Count} delivered with a stanza-id, " +
            $"{withoutId} without ({warned} of them with a warning to the sender), {bounced} bounced; after freeing, {withId.Count - pointless.Count} of {withId.Count} ids in carol's archive");

        server.Check(() =>
        {
            Assert.Equal(messages, outcomes.Count);
            Assert.Empty(pointless);
            // Every message without a stanza-id was either bounced or delivered with a warning.
            Assert.All(outcomes.Values.Where(o => o.StanzaId is null), o => Assert.NotNull(o.ErrorType));
            Assert.All(outcomes.Values.Where(o => o.Delivered && o.StanzaId is null), o => Assert.Equal("continue", o.ErrorType));
            Assert.All(outcomes.Values.Where(o => !o.Delivered), o => Assert.Equal("wait", o.ErrorType));
            if (durability == "strict") Assert.Equal(messages, bounced);
            else
            {
                Assert.NotEmpty(withId);
                Assert.True(withoutId > 0, "the hold bound was never reached");
                Assert.Equal(0, bounced);
            }
            Assert.Null(server.ExitCode);
        });
    }

    private static string Message(int i) =>
        $"<message to='carol@localhost' type='chat' id='m-{i}'><body>while full {i}</body></message>";

    private static async Task<XmppSocketClient> LoginAsync(ServerProcess server, string user)
    {
        var client = await XmppSocketClient.ConnectAsync(server.C2sPort);
        await client.LoginAsync(Host, user, "pw-" + user, register: true);
        return client;
    }

    /// <summary>
    /// Reads both clients until each of messages 1..<paramref name="upTo"/> has an outcome: a
    /// bounce or a delivery; with <paramref name="drain"/>, then on until both are quiet for 1 s
    /// (the senders' warnings may trail the deliveries).
    /// </summary>
    private static async Task CollectAsync(XmppSocketClient alice, XmppSocketClient carol, Dictionary<string, Outcome> outcomes, int upTo, bool drain = false)
    {
        var deadline = DateTime.UtcNow + ReplyTimeout;
        Outcome Of(string id) => outcomes.TryGetValue(id, out var o) ? o : outcomes[id] = new Outcome();
        // A bounce or a delivery settles a message (a "continue" warning alone does not: the
        // message was delivered too). Warnings that come after the delivery are read by DrainAsync.
        bool Settled(int i) => outcomes.TryGetValue($"m-{i}", out var o)
            && ((o.ErrorType is not null && o.ErrorType != "continue") || o.Delivered);
        var quietSince = DateTime.UtcNow;
        while (!Enumerable.Range(1, upTo).All(Settled) || (drain && DateTime.UtcNow - quietSince < TimeSpan.FromSeconds(1)))
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out: {Enumerable.Range(1, upTo).Count(Settled)} of {upTo} messages settled");
            foreach (var (client, atCarol) in new[] { (carol, true), (alice, false) })
            {
                while (await client.NextAsync(TimeSpan.FromMilliseconds(50)) is { } e)
                {
                    quietSince = DateTime.UtcNow;
                    if (e.Name.LocalName != "message" || (string?)e.Attribute("id") is not { } id || !id.StartsWith("m-", StringComparison.Ordinal)) continue;
                    var o = Of(id);
                    if (atCarol && (string?)e.Attribute("type") != "error")
                    {
                        o.Delivered = true;
                        o.StanzaId = e.Elements(XName.Get("stanza-id", SidNs)).FirstOrDefault(s => (string?)s.Attribute("by") == "carol@localhost")?.Attribute("id")?.Value;
                    }
                    else if (!atCarol && (string?)e.Attribute("type") == "error")
                    {
                        o.ErrorType = (string?)e.Element(XmppSocketClient.Client + "error")?.Attribute("type");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Pages through carol's archive until every expected id is there (the held batches commit
    /// within a few seconds of the space coming back) or 30 s pass; returns the ids found.
    /// </summary>
    private static async Task<HashSet<string>> WaitForArchivedAsync(XmppSocketClient carol, HashSet<string> expected)
    {
        var found = new HashSet<string>();
        var deadline = DateTime.UtcNow + ReplyTimeout;
        for (int round = 0; DateTime.UtcNow < deadline; round++)
        {
            found = await ArchiveIdsAsync(carol, round);
            if (expected.IsSubsetOf(found)) break;
            await Task.Delay(500);
        }
        return found;
    }

    private static async Task<HashSet<string>> ArchiveIdsAsync(XmppSocketClient carol, int round)
    {
        var ids = new HashSet<string>();
        string? after = null;
        for (int page = 0; page < 1_000; page++)
        {
            string qid = $"q{round}-{page}";
            string rsm = after is null ? "<max>50</max>" : $"<max>50</max><after>{after}</after>";
            await carol.SendAsync($"<iq type='set' id='{qid}'><query xmlns='{MamNs}' queryid='{qid}'><set xmlns='http://jabber.org/protocol/rsm'>{rsm}</set></query></iq>");
            while (true)
            {
                var e = await carol.NextAsync(ReplyTimeout) ?? throw new Xunit.Sdk.XunitException("no MAM answer");
                if (e.Name.LocalName == "message" && e.Element(XName.Get("result", MamNs)) is { } r && (string?)r.Attribute("queryid") == qid)
                {
                    ids.Add((string)r.Attribute("id")!);
                }
                else if (e.Name.LocalName == "iq" && (string?)e.Attribute("id") == qid)
                {
                    Assert.Equal("result", (string?)e.Attribute("type"));
                    var fin = e.Element(XName.Get("fin", MamNs));
                    if ((string?)fin?.Attribute("complete") == "true") return ids;
                    after = fin?.Element(XName.Get("set", "http://jabber.org/protocol/rsm"))?.Element(XName.Get("last", "http://jabber.org/protocol/rsm"))?.Value;
                    if (after is null) return ids;
                    break;
                }
            }
        }
        return ids;
    }
}
