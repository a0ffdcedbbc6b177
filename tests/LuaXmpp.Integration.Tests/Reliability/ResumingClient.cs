using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A stream-managed client (XEP-0198 with resume='true') that survives connection cuts: it
/// counts every stanza it fully received (its h), answers &lt;r/&gt;, keeps what it sent until the
/// server acknowledges it, and after a cut reconnects, authenticates and resumes with
/// &lt;resume previd h/&gt;, then re-sends whatever the server's &lt;resumed h/&gt; does not cover (§4, §5).
/// </summary>
/// <remarks>
/// Single-threaded by design: one loop (the test's) calls <see cref="SendMessageAsync"/> and
/// <see cref="NextStanzaAsync"/>; the cut is noticed on read and repaired inside the next call.
/// Stanzas only count once the framer hands out the complete element, so a cut in the middle
/// of one leaves it unacknowledged and the server re-sends it.
/// </remarks>
public sealed class ResumingClient : IAsyncDisposable
{
    private const string Sm3 = "urn:xmpp:sm:3";
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);

    private readonly string _host;
    private readonly int _port;
    private readonly string _user;
    private readonly string _password;
    private readonly LinkedList<(long Seq, string Text)> _unacked = new();
    private XmppSocketClient? _connection;
    private string? _previd;
    private long _outSent; // stanzas sent since <enable/> (the server's h counts these)
    private long _inHandled; // stanzas fully received since <enable/>: our h
    private int _sinceRequest;

    public ResumingClient(string host, int port, string user, string password)
    {
        _host = host;
        _port = port;
        _user = user;
        _password = password;
    }

    public string Jid { get; private set; } = "";

    /// <summary>Resumptions that worked, and how long each took from &lt;resume/&gt; to &lt;resumed/&gt; (ms).</summary>
    public List<double> ResumeMs { get; } = [];

    /// <summary>Whole repairs (connect, auth, resume), ms.</summary>
    public List<double> ReconnectMs { get; } = [];

    /// <summary>&lt;failed/&gt; answers to &lt;resume/&gt;, as text.</summary>
    public List<string> FailedResumes { get; } = [];

    /// <summary>Connection attempts that were cut before the resume completed (and retried).</summary>
    public int InterruptedAttempts { get; private set; }

    /// <summary>Stream errors or bounced stanzas the server sent.</summary>
    public List<string> Errors { get; } = [];

    public int Unacked => _unacked.Count;

    public bool Connected => _connection is { ClosedByServer: false };

    /// <summary>Registers (in-band), logs in, binds <paramref name="resource"/> and enables resumable stream management.</summary>
    public async Task StartAsync(string resource)
    {
        _connection = await XmppSocketClient.ConnectAsync(_port);
        Jid = await _connection.LoginAsync(_host, _user, _password, resource, register: true, presence: false);
        await _connection.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var enabled = await _connection.WaitForAsync(e => e.Name.NamespaceName == Sm3, "<enabled/>", StepTimeout);
        if (enabled.Name.LocalName != "enabled") throw new XunitException($"{_user}: enable failed: {enabled}");
        _previd = (string?)enabled.Attribute("id") ?? throw new XunitException("no resumption id: " + enabled);
    }

    /// <summary>Sends a stanza, keeping it until acknowledged; asks for an ack every <paramref name="requestEvery"/>.</summary>
    public async Task SendStanzaAsync(string stanza, int requestEvery = 10)
    {
        // Repair first: a resume re-sends the queue, which must not include this stanza yet.
        await EnsureConnectedAsync();
        _unacked.AddLast((++_outSent, stanza));
        if (++_sinceRequest >= requestEvery)
        {
            _sinceRequest = 0;
            stanza += $"<r xmlns='{Sm3}'/>";
        }

        await _connection!.SendAsync(stanza);
    }

    public Task SendMessageAsync(string to, string id, string body) =>
        SendStanzaAsync($"<message to='{to}' type='chat' id='{id}'><body>{body}</body></message>");

    /// <summary>Asks the server for an ack now.</summary>
    public async Task RequestAckAsync()
    {
        await EnsureConnectedAsync();
        await _connection!.SendAsync($"<r xmlns='{Sm3}'/>");
    }

    /// <summary>
    /// The next stanza from the server within <paramref name="timeout"/> (null if none came),
    /// handling acks on the way and repairing the connection if it was cut.
    /// </summary>
    public async Task<XElement?> NextStanzaAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await EnsureConnectedAsync();
            var left = timeout - clock.Elapsed;
            var element = await _connection!.NextAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (element is null)
            {
                if (_connection.ClosedByServer) continue; // repaired at the top
                return null;
            }

            if (IsStanza(element))
            {
                _inHandled++;
                if ((string?)element.Attribute("type") == "error") Errors.Add(element.ToString(SaveOptions.DisableFormatting));
                return element;
            }

            await HandleNonzaAsync(element);
            if (clock.Elapsed >= timeout) return null;
        }
    }

    private async Task HandleNonzaAsync(XElement element)
    {
        if (element.Name.NamespaceName == Sm3)
        {
            switch (element.Name.LocalName)
            {
                case "r":
                    await _connection!.SendAsync($"<a xmlns='{Sm3}' h='{(uint)_inHandled}'/>");
                    return;
                case "a":
                    Acknowledge(ParseH(element));
                    return;
            }
        }

        if (element.Name.LocalName == "error") Errors.Add(element.ToString(SaveOptions.DisableFormatting));
    }

    private static bool IsStanza(XElement e) =>
        e.Name.Namespace == XmppSocketClient.Client && e.Name.LocalName is "message" or "presence" or "iq";

    private static long ParseH(XElement element) =>
        long.Parse((string?)element.Attribute("h") ?? throw new XunitException("no h: " + element), CultureInfo.InvariantCulture);

    /// <summary>The server handled everything up to h (XEP-0198 §4): drop it from the unacked queue.</summary>
    private void Acknowledge(long h)
    {
        if (h > _outSent) Errors.Add($"server acknowledged {h}, but only {_outSent} were sent");
        while (_unacked.First is { } first && first.Value.Seq <= h) _unacked.RemoveFirst();
    }

    private async Task EnsureConnectedAsync()
    {
        if (Connected) return;
        var clock = Stopwatch.StartNew();
        while (!await TryResumeAsync())
        {
            InterruptedAttempts++;
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new XunitException($"{_user}: could not resume within 60 s");
        }

        ReconnectMs.Add(clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>One attempt: connect, PLAIN, &lt;resume/&gt;. False when this connection was cut too.</summary>
    private async Task<bool> TryResumeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        _connection = null;
        var connection = await XmppSocketClient.ConnectAsync(_port);
        _connection = connection;
        try
        {
            // Not AuthenticateAsync: it would take the offered STARTTLS, and the cutting proxy must see the XML.
            await connection.OpenStreamAsync(_host);
            var outcome = await connection.AuthPlainAsync(_user, _password);
            if (outcome.Name.LocalName != "success") throw new XunitException($"{_user}: PLAIN failed on reconnect: {outcome}");
            await connection.OpenStreamAsync(_host);
            var clock = Stopwatch.StartNew();
            await connection.SendAsync($"<resume xmlns='{Sm3}' previd='{_previd}' h='{(uint)_inHandled}'/>");
            var answer = await connection.WaitForAsync(e => e.Name.NamespaceName == Sm3 && e.Name.LocalName is "resumed" or "failed", "<resumed/>", StepTimeout);
            if (answer.Name.LocalName == "failed")
            {
                FailedResumes.Add(answer.ToString(SaveOptions.DisableFormatting));
                await StartOverAsync(connection);
                return true;
            }

            ResumeMs.Add(clock.Elapsed.TotalMilliseconds);
            Acknowledge(ParseH(answer));
            // §4: what the server did not handle is sent again, in the original order.
            if (_unacked.Count > 0) await connection.SendAsync(string.Concat(_unacked.Select(u => u.Text)) + $"<r xmlns='{Sm3}'/>");
            return true;
        }
        catch (XunitException) when (connection.ClosedByServer)
        {
            return false;
        }
    }

    /// <summary>After a failed resume the session is gone: bind again and start counting afresh (losses show in the test).</summary>
    private async Task StartOverAsync(XmppSocketClient connection)
    {
        var resource = Jid[(Jid.IndexOf('/') + 1)..];
        await connection.SendAsync($"<iq type='set' id='rebind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>");
        await connection.WaitForAsync(e => (string?)e.Attribute("id") == "rebind", "bind result", StepTimeout);
        await connection.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var enabled = await connection.WaitForAsync(e => e.Name.NamespaceName == Sm3 && e.Name.LocalName is "enabled" or "failed", "<enabled/>", StepTimeout);
        _previd = (string?)enabled.Attribute("id");
        _unacked.Clear();
        _outSent = 0;
        _inHandled = 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
