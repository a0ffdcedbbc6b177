using System.Text;
using System.Text.RegularExpressions;

namespace LuaXmpp.Bench.LoadGen.Web;

/// <summary>
/// One XMPP client over an HTTP transport (RFC 7395 WebSocket or XEP-0206 BOSH), for the web
/// chat scenario: logs in with SASL PLAIN and binds, then sends stanzas and hands every incoming
/// top-level element's text to <see cref="Received"/>. Shares no code with the server.
/// </summary>
public abstract partial class WebClient : IAsyncDisposable
{
    /// <summary>Called (on the transport's reader) with each element the server sent.</summary>
    public Action<string>? Received { get; set; }

    public string FullJid { get; protected set; } = "";

    /// <summary>The server's stream features, SASL, restart, bind.</summary>
    public abstract Task LoginAsync(string host, string user, string password, CancellationToken cancel);

    /// <summary>Queues stanzas for sending (BOSH batches them into its next request).</summary>
    public abstract ValueTask SendAsync(string stanzas, CancellationToken cancel);

    public abstract ValueTask DisposeAsync();

    protected static string PlainAuth(string user, string password) =>
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
        + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}")) + "</auth>";

    protected const string Bind = "<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>";

    protected static string? BoundJid(string element) => JidPattern().Match(element) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The id of each &lt;message&gt; in a piece of text (a BOSH body holds several).</summary>
    public static IEnumerable<string> MessageIds(string text)
    {
        foreach (Match m in MessageIdPattern().Matches(text)) yield return m.Groups[1].Value;
    }

    [GeneratedRegex("<jid>([^<]+)</jid>")]
    private static partial Regex JidPattern();

    [GeneratedRegex("<message\\b[^>]*?\\sid=['\"]([^'\"]+)['\"]")]
    private static partial Regex MessageIdPattern();
}
