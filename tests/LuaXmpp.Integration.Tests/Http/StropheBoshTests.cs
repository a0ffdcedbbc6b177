using System.Text.Json;
using LuaXmpp.Tests.Fixtures;
using LuaXmpp.Tests.Reliability;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// A real BOSH client library against our native BOSH (XEP-0124/XEP-0206): strophe.js, the
/// transport Converse.js uses, run in Node by clients/js/bosh_chat.mjs. It logs in, binds,
/// chats both ways with a TCP client, enables XEP-0198 with a raw &lt;enable/&gt; and
/// terminates the session. Resuming a BOSH session is covered with the raw client in
/// <see cref="BoshTests"/>, whose server configuration this class shares (its own instance).
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

        var script = JsClients.DirectoryWith("strophe.js");
        var node = ChildProcess.RunAsync("node", ["bosh_chat.mjs", "--url", $"http://127.0.0.1:{fixture.HttpPort}/http-bind",
            "--domain", "localhost", "--user", user, "--password", "strophe-secret", "--peer", tcp.Jid!, "--expect", "1"],
            script, TimeSpan.FromSeconds(60));

        var hello = await tcp.WaitForAsync(e => (string?)e.Attribute("id") == "strophe1", "strophe.js's message", TimeSpan.FromSeconds(40));
        var from = (string)hello.Attribute("from")!;
        Assert.StartsWith($"{user}@localhost/", from);
        Assert.Equal("hello from strophe.js", hello.Elements().Single(e => e.Name.LocalName == "body").Value);
        await tcp.SendAsync($"<message to='{from}' type='chat' id='back'><body>hello strophe.js</body></message>");

        var run = await node;
        Assert.True(run.ExitCode == 0, run.ToString());
        // The result is the script's one JSON line; strophe may log other lines around it.
        var line = run.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, run.ToString());
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal(from, root.GetProperty("jid").GetString());
        Assert.Equal(tcp.Jid, root.GetProperty("received")[0].GetProperty("from").GetString());
        Assert.Equal("hello strophe.js", root.GetProperty("received")[0].GetProperty("body").GetString());
        // XEP-0198 §3: enabled, resumable, with an id to resume by.
        Assert.True(root.GetProperty("sm_enabled").GetBoolean(), run.Stdout);
        Assert.Equal("true", root.GetProperty("sm_resume").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("sm_id").GetString()), run.Stdout);
        // XEP-0124 §13: strophe's terminate request ended the session.
        Assert.Equal("DISCONNECTED", root.GetProperty("statuses").EnumerateArray().Last().GetString());
    }
}
