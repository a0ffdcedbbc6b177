using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Hostile addresses in stanzas (RFC 6120 §8.1.1, RFC 7622 / stringprep profiles of RFC 3920):
/// an address that cannot be prepared is a stanza error (jid-malformed, type modify), never a
/// stream error — the sender's session survives and keeps working.
/// </summary>
public sealed class AddressingTests(SharedServer shared, ITestOutputHelper output) : IClassFixture<SharedServer>
{
    public static TheoryData<string, string> MalformedAddresses => new()
    {
        { "empty node", "@localhost" },
        { "empty domain", "user@" },
        { "empty resource", "user@localhost/" },
        { "two @ in the bare part", "a@b@localhost" },
        { "node of 1 024 bytes", new string('n', 1_024) + "@localhost" },
        { "resource of 1 024 bytes", "user@localhost/" + new string('r', 1_024) },
        { "domain of 1 024 bytes", new string('d', 1_020) + ".com" },
        { "domain label of 64 bytes", new string('l', 64) + ".example" },
        { "space in the node", "a b@localhost" },
        { "no-break space in the node (stringprep C.1.2)", "a\u00A0b@localhost" },
        { "double quote in the node (nodeprep)", "a&quot;b@localhost" },
        { "right-to-left mixed with left-to-right (RFC 3454 §6)", "\u05D0a@localhost" },
        { "space in the domain", "local host" },
        { "domain with an empty label", "example..com" },
        { "unbalanced IPv6 literal", "[::1" },
        { "private-use character in the resource", "user@localhost/\uE000" },
    };

    [Theory]
    [MemberData(nameof(MalformedAddresses))]
    public async Task Stanza_ToMalformedAddress_GetsJidMalformed_AndSessionSurvives(string what, string to)
    {
        output.WriteLine("case: " + what);
        await using var client = await shared.LoginNewAsync();

        await client.SendAsync($"<message to='{to}' type='chat' id='m1'><body>hi</body></message>");
        var reply = await client.WaitForAsync(e => (string?)e.Attribute("id") == "m1", "the error reply", TimeSpan.FromSeconds(10));
        await client.SendAsync($"<iq to='{to}' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>");
        var iqReply = await client.WaitForAsync(e => (string?)e.Attribute("id") == "q1", "the iq error reply", TimeSpan.FromSeconds(10));
        bool alive = await client.PingAsync("localhost", "alive");
        await shared.Bystanders.ExchangeOnceAsync();

        shared.Server.Check(() =>
        {
            Assert.Equal("error", (string?)reply.Attribute("type"));
            Assert.Equal("jid-malformed", XmppSocketClient.ErrorCondition(reply));
            Assert.Equal("modify", (string?)reply.Element(XmppSocketClient.Client + "error")?.Attribute("type"));
            Assert.Equal("jid-malformed", XmppSocketClient.ErrorCondition(iqReply));
            Assert.True(alive, "the session did not survive a malformed address");
            Assert.False(client.StreamClosed, "a malformed address closed the stream");
            Assert.Empty(shared.Bystanders.Problems);
        });
    }

    /// <summary>Preparation maps before comparing (nodeprep case folding, NFKC): these reach the account.</summary>
    [Theory]
    [InlineData("upper case", true)]
    [InlineData("fullwidth letters", false)]
    public async Task Stanza_ToEquivalentAddress_IsDelivered(string what, bool upper)
    {
        output.WriteLine("case: " + what);
        await using var sender = await shared.LoginNewAsync();
        await using var receiver = await shared.LoginNewAsync("rcpt");
        string node = receiver.Jid!.Split('@')[0];
        string variant = upper ? node.ToUpperInvariant() + "@LOCALHOST" : Fullwidth(node) + "@localhost";

        await sender.SendAsync($"<message to='{variant}' type='chat' id='eq'><body>same person</body></message>");
        var got = await receiver.WaitForAsync(e => e.Name.LocalName == "message", "the message to " + variant);

        shared.Server.Check(() => Assert.Equal("same person", got.Element(XmppSocketClient.Client + "body")?.Value));
    }

    private static string Fullwidth(string ascii) =>
        string.Concat(ascii.Select(c => c is >= '!' and <= '~' ? (char)(c - '!' + '\uFF01') : c));

    /// <summary>A 'from' the client made up is overwritten with its own full JID (RFC 6120 §8.1.2.1).</summary>
    [Fact]
    public async Task Stanza_WithForgedFrom_IsStampedWithSendersJid()
    {
        await using var sender = await shared.LoginNewAsync();
        await using var receiver = await shared.LoginNewAsync("rcpt");

        await sender.SendAsync($"<message from='admin@localhost/x' to='{receiver.Jid}' type='chat'><body>forged</body></message>");
        var got = await receiver.WaitForAsync(e => e.Name.LocalName == "message", "the forged message");

        shared.Server.Check(() => Assert.Equal(sender.Jid, (string?)got.Attribute("from")));
    }
}
