using System.Text.Json;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// A real BOSH client library against our native BOSH (XEP-0124/XEP-0206): strophe.js, the
/// transport Converse.js uses, run in Node by clients/js/bosh_chat.mjs. It logs in, binds,
/// chats both ways with a TCP client, enables XEP-0198 with a raw &lt;enable/&gt; and
/// terminates the session; and, in a second test, resumes its XEP-0198 session on a new BOSH
/// session after the first went inactive. The server configuration (bosh_max_inactivity 2 s) is
/// <see cref="BoshTests"/>'s, shared here (its own instance).
/// </summary>
public sealed class StropheBoshTests(BoshTests.Server fixture) : IClassFixture<BoshTests.Server>
{
    [Fact]
    public async Task Strophe_over_bosh_chats_with_a_tcp_client_and_enables_stream_management()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("strophe");
        await fixture.Server.RegisterAsync(user, "strophe-secret");
        await using var tcp = await fixture.LoginNewAsync("strophepeer");

        var node = RunStrophe(user, tcp.Jid!, "--expect", "1");

        var hello = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "strophe1", "strophe.js's message", TimeSpan.FromSeconds(40));
        var from = (string)hello.Attribute("from")!;
        Assert.StartsWith($"{user}@localhost/", from);
        Assert.Equal("hello from strophe.js", hello.Elements().Single(e => e.Name.LocalName == "body").Value);
        await tcp.SendAsync($"<message to='{from}' type='chat' id='back'><body>hello strophe.js</body></message>");

        var root = ResultOf(await node);
        Assert.Equal(from, root.GetProperty("jid").GetString());
        Assert.Equal(tcp.Jid, root.GetProperty("received")[0].GetProperty("from").GetString());
        Assert.Equal("hello strophe.js", root.GetProperty("received")[0].GetProperty("body").GetString());
        // XEP-0198 §3: enabled, resumable, with an id to resume by.
        Assert.True(root.GetProperty("sm_enabled").GetBoolean(), root.ToString());
        Assert.Equal("true", root.GetProperty("sm_resume").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("sm_id").GetString()), root.ToString());
        // XEP-0124 §13: strophe's terminate request ended the session.
        Assert.Equal("DISCONNECTED", root.GetProperty("statuses").EnumerateArray().Last().GetString());
    }

    [Fact]
    public async Task Strophe_resumes_its_stream_management_session_on_a_new_bosh_session_and_gets_the_queue_once()
    {
        await HttpServerFixture.WaitForPortAsync(fixture.HttpPort, fixture.Server);
        var user = fixture.NextUser("stropheres");
        await fixture.Server.RegisterAsync(user, "strophe-secret");
        await using var tcp = await fixture.LoginNewAsync("stropherespeer");

        // First page: log in, chat once, enable SM, then go away without terminating.
        var first = RunStrophe(user, tcp.Jid!, "--expect", "1", "--drop", "1");
        var hello = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "strophe1", "strophe.js's message", TimeSpan.FromSeconds(40));
        var jid = (string)hello.Attribute("from")!;
        await tcp.SendAsync($"<message to='{jid}' type='chat' id='back'><body>hello strophe.js</body></message>");
        var dropped = ResultOf(await first);
        var previd = dropped.GetProperty("sm_id").GetString();
        Assert.False(string.IsNullOrEmpty(previd), dropped.ToString());
        var sid = dropped.GetProperty("sid").GetString();
        // bosh_max_inactivity (2 s) ends the abandoned BOSH session; smacks hibernates the stream.
        Assert.True(await fixture.LogContainsAsync($"BOSH session {sid} ends: no request for", TimeSpan.FromSeconds(20)),
            "the abandoned BOSH session was not ended");

        for (var i = 0; i < 3; i++)
            await tcp.SendAsync($"<message to='{jid}' type='chat' id='q{i}'><body>while away {i}</body></message>");
        Assert.True(await tcp.PingAsync("localhost", "sent-all"));

        // Second page: SASL on a new BOSH session, <resume/> instead of bind (h=0: the one
        // message before <enable/> is not counted, XEP-0198 §4).
        var second = RunStrophe(user, tcp.Jid!, "--expect", "3", "--previd", previd!, "--h", "0", "--jid", jid);
        await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "strophe2", "the resumed strophe.js's message", TimeSpan.FromSeconds(40));
        await tcp.SendAsync($"<message to='{jid}' type='chat' id='after'><body>welcome back</body></message>");
        var resumed = ResultOf(await second);
        Assert.True(resumed.GetProperty("resumed").GetBoolean(), resumed.ToString());
        Assert.Equal(jid, resumed.GetProperty("jid").GetString());
        // Each queued message exactly once, in order, then the live one: nothing duplicated.
        var ids = resumed.GetProperty("received").EnumerateArray().Select(m => m.GetProperty("id").GetString() ?? "").ToArray();
        Assert.Equal<string[]>(["q0", "q1", "q2", "after"], ids);
    }

    private Task<CommandResult> RunStrophe(string user, string peer, params string[] extra) =>
        ChildProcess.RunAsync("node", ["bosh_chat.mjs", "--url", $"http://127.0.0.1:{fixture.HttpPort}/http-bind",
            "--domain", "localhost", "--user", user, "--password", "strophe-secret", "--peer", peer, "--timeout", "20", .. extra],
            JsClients.DirectoryWith("strophe.js"), TimeSpan.FromSeconds(40));

    // The result is the script's one JSON line; strophe may log other lines around it.
    private static JsonElement ResultOf(CommandResult run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        var line = run.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, run.ToString());
        return JsonDocument.Parse(line).RootElement.Clone();
    }
}
