using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// A raw-socket XEP-0388 (SASL2) client: STARTTLS, then &lt;authenticate/&gt; with SCRAM-SHA-256
/// (RFC 5802, RFC 7677) or a XEP-0484 FAST token (HT-SHA-256-NONE), with whatever inline
/// requests a test adds (Bind 2, XEP-0198 enable/resume, a FAST token request). No Debian client
/// library speaks SASL2, so the bytes are written here. It counts the elements it sends after
/// the TLS stream's features, so a test can tell one round trip from two.
/// </summary>
public sealed class Sasl2Client : IAsyncDisposable
{
    public const string Sasl2Ns = "urn:xmpp:sasl:2";
    public const string Bind2Ns = "urn:xmpp:bind:0";
    public const string FastNs = "urn:xmpp:fast:0";
    public const string SmNs = "urn:xmpp:sm:3";
    public const string UserAgentId = "d4565fa7-4d72-4749-b3d3-740edbf87770";

    private static readonly XNamespace Sasl2 = Sasl2Ns;
    private readonly RawXmppClient _raw;
    private readonly string _host;

    private Sasl2Client(RawXmppClient raw, string host, XElement features)
    {
        _raw = raw;
        _host = host;
        Features = features;
    }

    /// <summary>The stream features after STARTTLS.</summary>
    public XElement Features { get; }

    /// <summary>Elements sent after the TLS stream's features.</summary>
    public int ElementsSent { get; private set; }

    /// <summary>The SASL2 mechanisms offered (XEP-0388 §2.1), empty when SASL2 is not offered.</summary>
    public IReadOnlyList<string> Mechanisms =>
        Features.Element(Sasl2 + "authentication")?.Elements(Sasl2 + "mechanism").Select(m => m.Value).ToList() ?? [];

    public XElement? Inline => Features.Element(Sasl2 + "authentication")?.Element(Sasl2 + "inline");

    /// <summary>Connects to the c2s port and negotiates STARTTLS; <paramref name="from"/> goes on the stream headers.</summary>
    public static async Task<Sasl2Client> ConnectAsync(ServerProcess server, string? from = null)
    {
        var raw = await RawXmppClient.ConnectAsync(server.C2sPort);
        try
        {
            await raw.OpenStreamAsync(server.Host, from);
            await raw.StartTlsAsync(server.Host);
            var features = await raw.OpenStreamAsync(server.Host, from);
            return new Sasl2Client(raw, server.Host, features);
        }
        catch
        {
            await raw.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one element and waits for the first new top-level element that <paramref name="isAnswer"/> accepts.</summary>
    public async Task<XElement> SendAndWaitAsync(string xml, Func<XElement, bool> isAnswer, string what)
    {
        var before = Elements().Count;
        ElementsSent++;
        await _raw.SendAsync(xml);
        return await WaitForAsync(isAnswer, what, before);
    }

    /// <summary>Waits for a top-level element (received after the first <paramref name="skip"/>).</summary>
    public async Task<XElement> WaitForAsync(Func<XElement, bool> accept, string what, int skip = 0)
    {
        await _raw.ReadUntilAsync(t => StreamTranscript.Parse(t).Elements.Skip(skip).Any(accept), what);
        return Elements().Skip(skip).First(accept);
    }

    /// <summary>Every top-level element received on the current stream.</summary>
    public IReadOnlyList<XElement> Elements() => StreamTranscript.Parse(_raw.Received[_raw.Received.LastIndexOf("<stream:stream", StringComparison.Ordinal)..]).Elements;

    private static bool IsOutcome(XElement e) => e.Name == Sasl2 + "success" || e.Name == Sasl2 + "failure";

    /// <summary>XEP-0388 §2.3 with SCRAM-SHA-256: &lt;authenticate/&gt;, the challenge, the response; returns &lt;success/&gt; or &lt;failure/&gt;.</summary>
    public async Task<XElement> ScramAsync(string user, string password, string inline = "")
    {
        var clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var clientFirstBare = $"n={user},r={clientNonce}";
        var first = await SendAndWaitAsync(
            Authenticate("SCRAM-SHA-256", Encoding.UTF8.GetBytes("n,," + clientFirstBare), inline),
            e => e.Name == Sasl2 + "challenge" || IsOutcome(e), "SCRAM challenge");
        if (first.Name != Sasl2 + "challenge") return first;

        var serverFirst = Encoding.UTF8.GetString(Convert.FromBase64String(first.Value));
        var fields = serverFirst.Split(',').ToDictionary(f => f[..1], f => f[2..]);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(fields["s"]),
            int.Parse(fields["i"]), HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var clientFinalBare = "c=biws,r=" + fields["r"];
        var authMessage = Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinalBare}");
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        var final = Encoding.UTF8.GetBytes($"{clientFinalBare},p={Convert.ToBase64String(proof)}");
        return await SendAndWaitAsync($"<response xmlns='{Sasl2Ns}'>{Convert.ToBase64String(final)}</response>", IsOutcome, "SCRAM outcome");
    }

    /// <summary>The initial response of HT-SHA-256-NONE (XEP-0484 §3.3): username NUL HMAC-SHA-256(token, "Initiator").</summary>
    public static byte[] FastResponse(string user, string token) =>
        [.. Encoding.UTF8.GetBytes(user), 0, .. HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), "Initiator"u8)];

    /// <summary>One &lt;authenticate/&gt; with a FAST token: one round trip; returns &lt;success/&gt; or &lt;failure/&gt;.</summary>
    public Task<XElement> FastAsync(byte[] initialResponse, string inline = "", string fast = "<fast xmlns='urn:xmpp:fast:0'/>") =>
        SendAndWaitAsync(Authenticate("HT-SHA-256-NONE", initialResponse, fast + inline), IsOutcome, "FAST outcome");

    public static string Authenticate(string mechanism, byte[] initialResponse, string inline = "") =>
        $"<authenticate xmlns='{Sasl2Ns}' mechanism='{mechanism}'><initial-response>{Convert.ToBase64String(initialResponse)}</initial-response>" +
        $"<user-agent id='{UserAgentId}'><software>LuaXmpp tests</software></user-agent>{inline}</authenticate>";

    /// <summary>The stream features sent after &lt;success/&gt; (XEP-0388 §2.6: no stream restart, new features on the same stream).</summary>
    public async Task<XElement> FeaturesAfterSuccessAsync()
    {
        XName features = XName.Get("features", RawXmppClient.StreamsNs);
        await _raw.ReadUntilAsync(t => StreamTranscript.Parse(t).Elements.Count(e => e.Name == features) >= 2, "features after <success/>");
        return Elements().Last(e => e.Name == features);
    }

    /// <summary>An XMPP ping (XEP-0199) on the authenticated stream, answered without any stream restart.</summary>
    public Task<XElement> PingAsync(string id) => SendAndWaitAsync(
        $"<iq type='get' id='{id}' to='{_host}'><ping xmlns='urn:xmpp:ping'/></iq>",
        e => e.Name.LocalName == "iq" && (string?)e.Attribute("id") == id, "ping " + id);

    public ValueTask DisposeAsync() => _raw.DisposeAsync();
}
