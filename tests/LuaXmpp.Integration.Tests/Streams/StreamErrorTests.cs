using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Streams;

/// <summary>
/// RFC 6120 §4.9: a bad stream gets exactly one &lt;stream:error/&gt; with the defined
/// condition, the closing tag, and a closed TCP connection — and the server keeps serving others.
/// The cases share one server (each opens its own connections): every bad stream of the class
/// lands on the same process, and each case checks afterwards that it still serves.
/// </summary>
public sealed class StreamErrorTests(ClassServer shared, ITestOutputHelper output) : IClassFixture<ClassServer>
{
    private const string Host = "localhost";
    private static readonly string Header = RawXmppClient.StreamHeader(Host);

    public static TheoryData<string, string> NotWellFormedInputs => new()
    {
        { "garbage before the header", "hello, is this XMPP?\r\n" },
        { "garbage after the header", Header + "<<<garbage>>>" },
        { "mismatched end tag", Header + "<message><body>hi</message>" },
        { "invalid XML character", Header + "<message><body>bell \u0001</body></message>" },
        { "invalid character reference", Header + "<message><body>&#x1;</body></message>" },
        { "unquoted attribute", Header + "<message to=bob@localhost><body>hi</body></message>" },
    };

    [Theory]
    [MemberData(nameof(NotWellFormedInputs))]
    public async Task Stream_FailsWithNotWellFormed_OnMalformedXml(string what, string input)
    {
        var server = shared.Server;
        output.WriteLine("case: " + what);

        await AssertStreamErrorAsync(server, "not-well-formed", Encoding.UTF8.GetBytes(input));
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]             // lead byte without continuation
    [InlineData(new byte[] { 0xFF, 0xFE })]             // never valid in UTF-8
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // encoded UTF-16 surrogate
    [InlineData(new byte[] { 0xC0, 0xBC })]             // overlong '<'
    public async Task Stream_FailsWithNotWellFormed_OnInvalidUtf8(byte[] bad)
    {
        var server = shared.Server;

        byte[] input = [.. Encoding.UTF8.GetBytes(Header + "<message><body>x"), .. bad, .. Encoding.UTF8.GetBytes("</body></message>")];

        await AssertStreamErrorAsync(server, "not-well-formed", input);
    }

    public static TheoryData<string, string> RestrictedInputs => new()
    {
        { "DOCTYPE", "<?xml version='1.0'?><!DOCTYPE stream:stream>" + Header[21..] },
        { "comment", Header + "<!-- a comment -->" },
        { "processing instruction", Header + "<?evil payload?>" },
        { "entity reference", Header + "<message to='bob@localhost'><body>&nbsp;</body></message>" },
    };

    /// <summary>RFC 6120 §11.1: comments, PIs, DTDs and non-predefined entities are forbidden.</summary>
    [Theory]
    [MemberData(nameof(RestrictedInputs))]
    public async Task Stream_FailsWithRestrictedXml_OnForbiddenXmlFeature(string what, string input)
    {
        var server = shared.Server;
        output.WriteLine("case: " + what);

        await AssertStreamErrorAsync(server, "restricted-xml", Encoding.UTF8.GetBytes(input));
    }

    [Fact]
    public async Task Stream_FailsWithInvalidNamespace_OnWrongStreamNamespace()
    {
        var server = shared.Server;

        await AssertStreamErrorAsync(server, "invalid-namespace",
            Encoding.UTF8.GetBytes(RawXmppClient.StreamHeader(Host, streamNs: "http://wrong.example/streams")));
    }

    [Fact]
    public async Task Stream_FailsWithHostUnknown_OnUnservedDomain()
    {
        var server = shared.Server;

        await AssertStreamErrorAsync(server, "host-unknown",
            Encoding.UTF8.GetBytes(RawXmppClient.StreamHeader("nosuch.example")));
    }

    /// <summary>Prosody 0.12's c2s_unauthed_stanza_size_limit: 10 000 bytes before authentication.
    /// 30 000 bytes is clearly over it (Prosody's own byte counting lags expat's buffering, so
    /// it lets ~11 000 through) and far below the 256 KiB limit after authentication.</summary>
    [Fact]
    public async Task Stream_FailsWithPolicyViolation_OnLargeStanzaBeforeAuth()
    {
        var server = shared.Server;

        var stanza = $"<message to='bob@localhost'><body>{new string('a', 30_000)}</body></message>";

        await AssertStreamErrorAsync(server, "policy-violation", Encoding.UTF8.GetBytes(Header + stanza));
    }

    /// <summary>RFC 6120 §4.9.3.12: stanzas before authentication are not-authorized.</summary>
    [Fact]
    public async Task Stream_FailsWithNotAuthorized_OnStanzaBeforeAuth()
    {
        var server = shared.Server;

        await AssertStreamErrorAsync(server, "not-authorized",
            Encoding.UTF8.GetBytes(Header + "<message to='bob@localhost' type='chat'><body>hi</body></message>"));
    }

    [Fact]
    public async Task Stream_FailsWithConnectionTimeout_WhenUnauthenticatedPastC2sTimeout()
    {
        await using var server = await ServerProcess.StartAsync(output, c => c.Set("c2s_timeout", "2"));

        // Only the header: the client then idles and the server must give up on it.
        await AssertStreamErrorAsync(server, "connection-timeout", Encoding.UTF8.GetBytes(Header), TimeSpan.FromSeconds(20));
    }

    /// <summary>RFC 6120 §4.4: the server answers a client's close with its own closing tag.</summary>
    [Fact]
    public async Task Stream_IsClosedCleanly_WhenClientSendsClosingTag()
    {
        var server = shared.Server;
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);
        await client.OpenStreamAsync(Host);

        await client.SendAsync("</stream:stream>");
        var closed = await client.ReadToEndAsync();

        var transcript = StreamTranscript.Parse(client.Received);
        server.Check(() =>
        {
            Assert.True(closed, "server kept the connection open after the client's </stream:stream>");
            Assert.True(transcript.Closed, "no </stream:stream> from the server: " + client.Received);
            Assert.Null(transcript.StreamError);
        });
        await AssertStillServingAsync(server);
    }

    /// <summary>Nothing after the client's &lt;/stream:stream&gt; may be processed (RFC 6120 §4.4).</summary>
    [Fact]
    public async Task Stream_IgnoresData_AfterClientClosingTag()
    {
        var server = shared.Server;
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);
        await client.OpenStreamAsync(Host);

        await client.SendAsync("</stream:stream><iq type='get' id='late' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        var closed = await client.ReadToEndAsync();

        server.Check(() =>
        {
            Assert.True(closed, "server kept the connection open after </stream:stream>");
            Assert.DoesNotContain("late", client.Received);
            Assert.EndsWith("</stream:stream>", client.Received.TrimEnd());
        });
        await AssertStillServingAsync(server);
    }

    /// <summary>RFC 6120 §5.3.1 with c2s_require_encryption: no SASL before STARTTLS.</summary>
    [Fact]
    public async Task Auth_IsRefused_BeforeStartTls_WhenEncryptionRequired()
    {
        var server = shared.Server;
        // Its own account on the shared server (RawLogin registers alice).
        await server.RegisterAsync("carol", "pass-carol");
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);
        var features = await client.OpenStreamAsync(Host);

        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0carol\0pass-carol"));
        await client.SendAsync($"<auth xmlns='{RawXmppClient.SaslNs}' mechanism='PLAIN'>{plain}</auth>");
        await client.TryReadUntilAsync(t => t.Contains("</failure>") || t.Contains("</stream:stream>") || t.Contains("success"));

        var transcript = StreamTranscript.Parse(client.Received);
        server.Check(() =>
        {
            var starttls = features.Element(XName.Get("starttls", RawXmppClient.TlsNs));
            Assert.NotNull(starttls);
            Assert.NotNull(starttls.Element(XName.Get("required", RawXmppClient.TlsNs)));
            Assert.Empty(features.Descendants(XName.Get("mechanism", RawXmppClient.SaslNs)));
            Assert.DoesNotContain(transcript.Elements, e => e.Name.LocalName == "success");
            // Either a SASL failure or a stream error is a refusal; both name the reason.
            var refusal = transcript.Elements.FirstOrDefault(e => e.Name == XName.Get("failure", RawXmppClient.SaslNs))
                ?? transcript.StreamError;
            Assert.True(refusal is not null, "auth before TLS got no failure: " + client.Received);
            Assert.Contains(refusal.Elements().Select(e => e.Name.LocalName),
                n => n is "encryption-required" or "policy-violation");
        });
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task RawLogin_BindsResource_WithPlainOverStartTls()
    {
        var server = shared.Server;
        await server.RegisterAsync("alice", "pass-alice");
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);

        var jid = await client.LoginAsync(Host, "alice", "pass-alice");

        server.Check(() => Assert.Equal("alice@localhost/raw", jid));
    }

    private async Task AssertStreamErrorAsync(ServerProcess server, string condition, byte[] input, TimeSpan? wait = null)
    {
        await using (var client = await RawXmppClient.ConnectAsync(server.C2sPort))
        {
            await client.SendAsync(input);
            var closed = await client.ReadToEndAsync(wait);
            var transcript = StreamTranscript.Parse(client.Received);
            output.WriteLine("received: " + client.Received);
            server.Check(() =>
            {
                Assert.True(transcript.StreamError is not null, "no <stream:error/> in: " + client.Received);
                Assert.Equal([condition], transcript.ErrorConditions);
                Assert.True(transcript.Closed, "no </stream:stream> after the error: " + client.Received);
                Assert.True(closed, "the server did not close the connection");
            });
        }

        await AssertStillServingAsync(server);
    }

    /// <summary>A well-behaved client still gets a stream, STARTTLS and SASL mechanisms.</summary>
    private static async Task AssertStillServingAsync(ServerProcess server)
    {
        await using var client = await RawXmppClient.ConnectAsync(server.C2sPort);
        var features = await client.OpenStreamAsync(Host);
        await client.StartTlsAsync(Host);
        var secured = await client.OpenStreamAsync(Host);
        server.Check(() =>
        {
            Assert.NotNull(features.Element(XName.Get("starttls", RawXmppClient.TlsNs)));
            Assert.NotEmpty(secured.Descendants(XName.Get("mechanism", RawXmppClient.SaslNs)));
        });
    }
}
