using System.Xml.Linq;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Mam;

/// <summary>A raw c2s connection for MAM protocol tests: exact XML out, parsed elements in.</summary>
internal sealed class MamClient : IAsyncDisposable
{
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace MamNs = "urn:xmpp:mam:2";
    public static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    public static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public static readonly XNamespace Sid = "urn:xmpp:sid:0";

    private readonly RawXmppClient _raw;
    private int _seen;
    private int _ids;

    private MamClient(RawXmppClient raw, string jid)
    {
        _raw = raw;
        Jid = jid;
    }

    public string Jid { get; }

    public string Bare => Jid.Split('/')[0];

    /// <param name="host">The account's host; default the server's first.</param>
    public static async Task<MamClient> LoginAsync(ServerProcess server, string user, string? host = null)
    {
        var raw = await RawXmppClient.ConnectAsync(server.C2sPort);
        try
        {
            var jid = await raw.LoginAsync(host ?? server.Host, user, MamServers.Password);
            var client = new MamClient(raw, jid);
            client._seen = client.Elements().Count; // the bind result
            return client;
        }
        catch
        {
            await raw.DisposeAsync();
            throw;
        }
    }

    public Task SendAsync(string xml) => _raw.SendAsync(xml);

    /// <summary>Sends chat messages, then waits for a ping answer so the server has handled them.</summary>
    public async Task SendMessagesAsync(string to, IEnumerable<string> bodies)
    {
        foreach (var body in bodies) await SendAsync($"<message to='{to}' type='chat'><body>{body}</body></message>");
        await IqAsync("<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    }

    /// <summary>Sends an iq whose text uses {id} for its id; returns everything received up to its answer, the answer last.</summary>
    public async Task<List<XElement>> IqAsync(string xml)
    {
        var id = "q" + ++_ids;
        await SendAsync(xml.Replace("{id}", id));
        await _raw.ReadUntilAsync(t => StreamTranscript.Parse(t).Elements.Skip(_seen).Any(e => IsAnswer(e, id)), "answer to " + id);
        var all = Elements();
        var end = all.FindIndex(_seen, e => IsAnswer(e, id));
        var got = all.GetRange(_seen, end - _seen + 1);
        _seen = end + 1;
        return got;
    }

    /// <summary>Waits for a message matching <paramref name="match"/> and returns it.</summary>
    public async Task<XElement> NextMessageAsync(Func<XElement, bool> match)
    {
        await _raw.ReadUntilAsync(t => StreamTranscript.Parse(t).Elements.Skip(_seen).Any(e => e.Name == Client + "message" && match(e)), "message");
        var all = Elements();
        var index = all.FindIndex(_seen, e => e.Name == Client + "message" && match(e));
        _seen = index + 1;
        return all[index];
    }

    /// <summary>A MAM query; <paramref name="inner"/> goes inside &lt;query/&gt;. Returns the result messages and the answer.</summary>
    public async Task<(List<XElement> Results, XElement Answer)> QueryAsync(string inner = "", string queryId = "qid", string? to = null)
    {
        var toAttr = to is null ? "" : $" to='{to}'";
        var got = await IqAsync($"<iq type='set' id='{{id}}'{toAttr}><query xmlns='urn:xmpp:mam:2' queryid='{queryId}'>{inner}</query></iq>");
        var results = got.Where(e => e.Name == Client + "message" && e.Element(MamNs + "result") is not null).ToList();
        return (results, got[^1]);
    }

    public static string Form(params (string Var, string Value)[] fields) =>
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
        + string.Concat(fields.Select(f => $"<field var='{f.Var}'><value>{f.Value}</value></field>")) + "</x>";

    public static string Set(string inner) => $"<set xmlns='http://jabber.org/protocol/rsm'>{inner}</set>";

    public static string Body(XElement result) =>
        result.Descendants(Client + "body").Select(b => b.Value).FirstOrDefault() ?? "";

    public static string ResultId(XElement result) => (string)result.Element(MamNs + "result")!.Attribute("id")!;

    public static string? ErrorCondition(XElement iq) =>
        iq.Element(Client + "error")?.Elements().FirstOrDefault(e => e.Name.Namespace == Stanzas && e.Name.LocalName != "text")?.Name.LocalName;

    public static XElement Fin(XElement iq) => iq.Element(MamNs + "fin") ?? throw new XunitException("no <fin/> in " + iq);

    private static bool IsAnswer(XElement e, string id) =>
        e.Name == Client + "iq" && (string?)e.Attribute("id") == id && (string?)e.Attribute("type") is "result" or "error";

    private List<XElement> Elements() => StreamTranscript.Parse(_raw.Received.Substring(LastStreamStart())).Elements.ToList();

    /// <summary>The transcript of the current (post-bind) stream starts at its last header.</summary>
    private int LastStreamStart() => _raw.Received.LastIndexOf("<?xml", StringComparison.Ordinal) is var i and >= 0
        ? i
        : _raw.Received.LastIndexOf("<stream:stream", StringComparison.Ordinal);

    public ValueTask DisposeAsync() => _raw.DisposeAsync();
}
