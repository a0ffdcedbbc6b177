using System.Text;
using LuaXmpp.Bench.LoadGen.Wire;

namespace LuaXmpp.Bench.LoadGen.Client;

/// <summary>
/// A benchmark client: opens the stream, optionally STARTTLS, authenticates, binds and
/// optionally enables or resumes XEP-0198 stream management. After login the scenario owns
/// <see cref="Connection"/> (one reader) and calls <see cref="OnInbound"/> for every frame so
/// the handled-stanza counter stays right.
/// </summary>
public sealed class XmppClient : IAsyncDisposable
{
    public const string SmNs = "urn:xmpp:sm:3";

    private readonly Target _target;
    private long _handled;

    public XmppClient(Target target, string user, string password)
    {
        _target = target;
        User = user;
        Password = password;
    }

    public string User { get; }

    public string Password { get; }

    public XmppConnection Connection { get; private set; } = null!;

    public string FullJid { get; private set; } = "";

    public string BareJid => User + "@" + _target.Host;

    /// <summary>Whether the last features after authentication advertised XEP-0198 v3.</summary>
    public bool ServerSupportsSm { get; private set; }

    public bool SmEnabled { get; private set; }

    public string? ResumeId { get; private set; }

    /// <summary>XEP-0198 §4: stanzas received since enable (the client's h).</summary>
    public long Handled => Interlocked.Read(ref _handled);

    public static Task<XmppConnection> OpenAsync(Target target, CancellationToken cancel) =>
        XmppConnection.ConnectAsync(target.Port, cancel);

    /// <summary>Connect, (STARTTLS,) SASL, bind. Returns the features that followed authentication.</summary>
    public async Task LoginAsync(CancellationToken cancel, string resource = "bench")
    {
        var features = await ConnectAndAuthenticateAsync(cancel);
        await BindAsync(features, resource, cancel);
    }

    public async Task<Frame> ConnectAndAuthenticateAsync(CancellationToken cancel)
    {
        Connection = await OpenAsync(_target, cancel);
        var features = await OpenStreamAsync(cancel);
        if (_target.StartTls)
        {
            if (!features.Contains("urn:ietf:params:xml:ns:xmpp-tls")) throw new IOException("server offers no STARTTLS");
            await Connection.SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", cancel);
            await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "proceed", cancel);
            await Connection.StartTlsAsync(_target.Host, cancel);
            features = await OpenStreamAsync(cancel);
        }

        await AuthenticateAsync(features, cancel);
        features = await OpenStreamAsync(cancel);
        ServerSupportsSm = features.Contains(SmNs);
        return features;
    }

    private async Task<Frame> OpenStreamAsync(CancellationToken cancel)
    {
        await Connection.SendAsync(
            $"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{_target.Host}' version='1.0'>",
            cancel);
        await Connection.ExpectAsync(f => f.Kind == FrameKind.StreamHeader, cancel);
        return await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "stream:features", cancel);
    }

    private async Task AuthenticateAsync(Frame features, CancellationToken cancel)
    {
        if (_target.Sasl == SaslMechanism.Plain)
        {
            var initial = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + User + "\0" + Password));
            await Connection.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{initial}</auth>", cancel);
        }
        else
        {
            if (!features.Contains(">SCRAM-SHA-1<")) throw new IOException("server offers no SCRAM-SHA-1");
            var scram = new ScramSha1(User, Password);
            await Connection.SendAsync(
                $"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{B64(scram.ClientFirst())}</auth>", cancel);
            var challenge = await Connection.ExpectAsync(IsSaslOutcome, cancel);
            if (challenge.Name != "challenge") throw new IOException("SCRAM: " + challenge.Xml);
            var final = scram.ClientFinal(UnB64(challenge.ChildText("challenge") ?? InnerText(challenge)));
            await Connection.SendAsync($"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{B64(final)}</response>", cancel);
        }

        var outcome = await Connection.ExpectAsync(IsSaslOutcome, cancel);
        if (outcome.Name != "success") throw new IOException("authentication failed: " + outcome.Xml);
    }

    private static bool IsSaslOutcome(Frame f) => f.Kind == FrameKind.Element && f.Name is "success" or "failure" or "challenge";

    private static string InnerText(Frame f)
    {
        var start = f.Xml.IndexOf('>') + 1;
        var end = f.Xml.LastIndexOf('<');
        return end > start ? f.Xml[start..end] : "";
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string UnB64(string text) => Encoding.UTF8.GetString(Convert.FromBase64String(text.Trim()));

    /// <summary>RFC 6120 §7: bind a resource; RFC 3921 session if the server still asks for it.</summary>
    private async Task BindAsync(Frame features, string resource, CancellationToken cancel)
    {
        await Connection.SendAsync(
            $"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>", cancel);
        var result = await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name == "iq" && f.Attribute("id") == "bind", cancel);
        if (result.Attribute("type") != "result") throw new IOException("bind failed: " + result.Xml);
        FullJid = result.ChildText("jid") ?? throw new IOException("bind result without jid: " + result.Xml);
        if (features.Contains("urn:ietf:params:xml:ns:xmpp-session") && !features.Contains("<optional"))
        {
            await Connection.SendAsync("<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>", cancel);
            await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Attribute("id") == "sess", cancel);
        }
    }

    /// <summary>XEP-0198 §3: enable (with resumption if asked); false when not advertised.</summary>
    public async Task<bool> EnableSmAsync(bool resume, CancellationToken cancel)
    {
        if (!ServerSupportsSm) return false;
        await Connection.SendAsync($"<enable xmlns='{SmNs}'{(resume ? " resume='true'" : "")}/>", cancel);
        var reply = await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name is "enabled" or "failed", cancel);
        if (reply.Name == "failed") throw new IOException("sm enable failed: " + reply.Xml);
        SmEnabled = true;
        ResumeId = reply.Attribute("id");
        Interlocked.Exchange(ref _handled, 0);
        return true;
    }

    /// <summary>XEP-0198 §5: on a fresh authenticated stream, resume the previous session.
    /// Returns the &lt;resumed/&gt; frame; the caller keeps reading for the replayed stanzas.</summary>
    public async Task<Frame> ResumeAsync(string previd, long handled, CancellationToken cancel)
    {
        await Connection.SendAsync($"<resume xmlns='{SmNs}' previd='{previd}' h='{handled}'/>", cancel);
        var reply = await Connection.ExpectAsync(f => f.Kind == FrameKind.Element && f.Name is "resumed" or "failed", cancel);
        if (reply.Name == "failed") throw new IOException("resume failed: " + reply.Xml);
        SmEnabled = true;
        return reply;
    }

    /// <summary>Bookkeeping every scenario's read loop calls: counts stanzas (XEP-0198 §4) and
    /// answers the server's ack requests. Returns true for frames the scenario should look at.</summary>
    public async ValueTask<bool> OnInboundAsync(Frame frame, CancellationToken cancel)
    {
        if (frame.Kind != FrameKind.Element) return false;
        if (frame.Is("message") || frame.Is("iq") || frame.Is("presence"))
        {
            Interlocked.Increment(ref _handled);
            return true;
        }

        if (SmEnabled && frame.Is("r"))
        {
            await Connection.SendAsync($"<a xmlns='{SmNs}' h='{Handled}'/>", cancel);
        }

        return !frame.Is("a");
    }

    /// <summary>Continues counting after a resume from the h the client reported.</summary>
    public void SetHandled(long handled) => Interlocked.Exchange(ref _handled, handled);

    public void ReplaceConnection() => Connection = null!;

    public async Task CloseAsync()
    {
        if (Connection is null) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Connection.SendAsync("</stream:stream>", timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }

        await Connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null) await Connection.DisposeAsync();
    }
}
