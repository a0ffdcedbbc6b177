using System.Text;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Hostile XML over real sockets, before and after authentication (RFC 6120 §4.9, §11, §13.12),
/// beyond what Streams/StreamErrorTests covers: each input gets exactly one stream error with the
/// right condition, a log line naming it, a closed connection — and meanwhile two other
/// authenticated sessions on the same server keep exchanging messages with none lost.
/// </summary>
public sealed class HostileInputTests(SharedServer shared, ITestOutputHelper output) : IClassFixture<SharedServer>
{
    private const string Host = "localhost";

    /// <summary>The classic billion laughs: ten levels of ten-fold entity expansion (10^9 "lol"s).</summary>
    private static string BillionLaughs()
    {
        var dtd = new StringBuilder("<!DOCTYPE lolz [<!ENTITY lol0 \"lol\">");
        for (int i = 1; i <= 9; i++)
        {
            dtd.Append($"<!ENTITY lol{i} \"").Append(string.Concat(Enumerable.Repeat($"&lol{i - 1};", 10))).Append("\">");
        }

        return dtd.Append("]>").ToString();
    }

    private static string Nested(int depth) =>
        "<message to='x@localhost'>" + string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth)) + "</message>";

    private static string ManyAttributes(int count) =>
        "<message " + string.Join(' ', Enumerable.Range(0, count).Select(i => $"a{i}='v'")) + "><body>x</body></message>";

    public static TheoryData<string, string, string> BeforeAuthInputs => new()
    {
        { "billion laughs DTD before the header", "restricted-xml", "<?xml version='1.0'?>" + BillionLaughs() + XmppSocketClient.Header(Host)[21..] },
        { "content namespace jabber:server on the c2s port", "invalid-namespace", XmppSocketClient.Header(Host, "jabber:server") },
        { "unknown content namespace", "invalid-namespace", XmppSocketClient.Header(Host, "urn:example:unknown") },
        // 40 levels are 120 bytes: the depth limit (32), not the 10 000-byte pre-auth limit, must trip.
        { "nesting 40 deep before auth", "policy-violation", XmppSocketClient.Header(Host) + string.Concat(Enumerable.Repeat("<a>", 40)) },
    };

    [Theory]
    [MemberData(nameof(BeforeAuthInputs))]
    public async Task HostileInput_BeforeAuth_GetsStreamError_AndOthersKeepChatting(string what, string condition, string input)
    {
        output.WriteLine("case: " + what);
        await AttackAsync(condition, async () =>
        {
            var client = await XmppSocketClient.ConnectAsync(shared.Server.C2sPort);
            await client.SendAsync(input);
            return client;
        });
    }

    public static TheoryData<string, string, string> AfterAuthInputs => new()
    {
        { "billion laughs DTD inside the stream", "restricted-xml", BillionLaughs() + "<message to='x@localhost'><body>&lol9;</body></message>" },
        { "undeclared entity reference", "restricted-xml", "<message to='x@localhost'><body>&lol9;</body></message>" },
        { "nesting 1 000 deep", "policy-violation", Nested(1_000) },
        { "nesting just past the depth limit (33)", "policy-violation", Nested(32) },
        { "1 000 attributes", "policy-violation", ManyAttributes(1_000) },
        { "a 1 000-byte attribute name", "policy-violation", $"<message {new string('n', 1_000)}='v'><body>x</body></message>" },
        { "a 300 KB attribute value (over c2s_stanza_size_limit)", "policy-violation", $"<message to='x@localhost' id='{new string('i', 300_000)}'/>" },
        { "300 KB of text (over c2s_stanza_size_limit)", "policy-violation", $"<message to='x@localhost'><body>{new string('t', 300_000)}</body></message>" },
        { "an XML 1.0 control character", "not-well-formed", "<message to='x@localhost'><body>\u0001</body></message>" },
        { "a character reference to U+0000", "not-well-formed", "<message to='x@localhost'><body>&#0;</body></message>" },
        { "U+FFFE", "not-well-formed", "<message to='x@localhost'><body>\uFFFE</body></message>" },
        { "an unknown top-level element", "unsupported-stanza-type", "<foo xmlns='urn:example:unknown'/>" },
    };

    [Theory]
    [MemberData(nameof(AfterAuthInputs))]
    public async Task HostileInput_AfterAuth_GetsStreamError_AndOthersKeepChatting(string what, string condition, string input)
    {
        output.WriteLine("case: " + what);
        await AttackAsync(condition, async () =>
        {
            var client = await shared.LoginNewAsync();
            await client.SendAsync(input);
            return client;
        });
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xC0, 0xBC })]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    public async Task InvalidUtf8_AfterAuth_GetsNotWellFormed_AndOthersKeepChatting(byte[] bad)
    {
        await AttackAsync("not-well-formed", async () =>
        {
            var client = await shared.LoginNewAsync();
            await client.SendAsync([.. "<message to='x@localhost'><body>x"u8, .. bad, .. "</body></message>"u8]);
            return client;
        });
    }

    /// <summary>A stanza over the pre-auth limit but under c2s_stanza_size_limit is let through once authenticated.</summary>
    [Fact]
    public async Task LargeStanza_UnderSizeLimit_IsDeliveredAfterAuth()
    {
        shared.Bystanders.Begin();
        await using var sender = await shared.LoginNewAsync();
        await using var receiver = await shared.LoginNewAsync();
        var body = new string('b', 200_000);

        await sender.SendAsync($"<message to='{receiver.Jid}' type='chat' id='big'><body>{body}</body></message>");
        var got = await receiver.WaitForAsync(e => e.Name.LocalName == "message", "the 200 KB message");
        await shared.Bystanders.StopAsync();

        shared.Server.Check(() =>
        {
            Assert.Equal(body, got.Element(XmppSocketClient.Client + "body")?.Value);
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    /// <summary>RFC 6120 §4.4: after &lt;/stream:stream&gt; nothing the client pipelined is processed —
    /// the message before it is delivered, the one after it is not, and garbage earns no error.</summary>
    [Fact]
    public async Task PipelinedGarbage_AfterClosingTag_IsIgnored()
    {
        shared.Bystanders.Begin();
        await using var receiver = await shared.LoginNewAsync();
        await using var attacker = await shared.LoginNewAsync();

        await attacker.SendAsync(
            $"<message to='{receiver.Jid}' type='chat'><body>before</body></message></stream:stream>" +
            $"<message to='{receiver.Jid}' type='chat'><body>LEAK</body></message><<<garbage \u0001\uFFFE>>>");
        var (closed, answer) = await attacker.ReadToEndAsync();
        var first = await receiver.WaitForAsync(e => e.Name.LocalName == "message", "the message before the close");
        var more = await receiver.NextAsync(TimeSpan.FromSeconds(2));
        await shared.Bystanders.StopAsync();

        shared.Server.Check(() =>
        {
            Assert.True(closed, "the server kept the connection open after </stream:stream>");
            Assert.True(attacker.StreamClosed, "no </stream:stream> from the server");
            Assert.DoesNotContain(answer, e => e.Name.LocalName == "error");
            Assert.Equal("before", first.Element(XmppSocketClient.Client + "body")?.Value);
            Assert.True(more is null || more.Element(XmppSocketClient.Client + "body")?.Value != "LEAK", "data after </stream:stream> was delivered");
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    /// <summary>
    /// RFC 6120 §4.4 and §4.9.1.1: the stream error must reach a client that pipelined more input
    /// behind the stanza that ended its stream. Closing the socket with that input unread makes
    /// the kernel answer with a reset, which throws away the error before the client reads it
    /// (found by the stanza fuzzer); the server now reads the client's input to its end first.
    /// </summary>
    [Fact]
    public async Task StreamError_WithPipelinedInputBehindIt_StillReachesTheClient()
    {
        await using var client = await shared.LoginNewAsync();
        // 10 MB of messages to itself that it does not read yet: its receive window fills, so the
        // stream error waits in the server's send queue, where a reset would destroy it.
        var echoes = string.Concat(Enumerable.Range(0, 100).Select(i =>
            $"<message to='{client.Jid}' type='chat'><body>{new string('e', 100_000)}</body></message>"));
        var filler = string.Concat(Enumerable.Range(0, 40).Select(i =>
            $"<message to='nobody@localhost' type='chat'><body>{new string('p', 8_000)}</body></message>"));

        // The unknown element ends the stream; ~320 KB more follow it in the same write.
        await client.SendAsync(echoes + "<foo xmlns='urn:example:unknown'/>" + filler);
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // the server closes before we read a byte
        var (closed, elements) = await client.ReadToEndAsync();

        shared.Server.Check(() =>
        {
            Assert.True(closed, "the server kept the connection open");
            Assert.Equal(100, elements.Count(e => e.Name.LocalName == "message"));
            var error = Assert.Single(elements, e => e.Name.LocalName == "error");
            Assert.Equal("unsupported-stanza-type", error.Elements().First().Name.LocalName);
            Assert.True(client.StreamClosed, "no </stream:stream> from the server");
        });
    }

    private async Task AttackAsync(string condition, Func<Task<XmppSocketClient>> attack)
    {
        string logLine = "Closing stream with error " + condition;
        int logged = ServerLog.Count(shared.Server, logLine);
        shared.Bystanders.Begin();
        int deliveredBefore = shared.Bystanders.Delivered;

        await using var attacker = await attack();
        var (closed, elements) = await attacker.ReadToEndAsync(TimeSpan.FromSeconds(20));
        var errors = elements.Where(e => e.Name == XName.Get("error", XmppSocketClient.StreamsNs)).ToList();
        await shared.Bystanders.StopAsync();
        bool inLog = await shared.LogContainsAsync(logLine) && ServerLog.Count(shared.Server, logLine) > logged;

        output.WriteLine($"bystander messages delivered meanwhile: {shared.Bystanders.Delivered - deliveredBefore}");
        shared.Server.Check(() =>
        {
            Assert.True(errors.Count == 1, $"expected one <stream:error/>, got: {string.Join("\n", elements)}");
            Assert.Equal(condition, XmppSocketClient.ErrorCondition(errors[0]));
            Assert.True(attacker.StreamClosed, "no </stream:stream> after the stream error");
            Assert.True(closed, "the server did not close the connection");
            Assert.True(inLog, $"no new '{logLine}' line in the server log");
            Assert.Empty(shared.Bystanders.Problems);
            Assert.True(shared.Bystanders.Delivered > deliveredBefore, "the bystanders exchanged nothing meanwhile");
        });
    }
}
