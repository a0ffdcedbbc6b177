using System.Globalization;
using System.Xml.Linq;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// One load-test session's XEP-0198 side (§4): counts the stanzas it received (its h) and
/// answers each &lt;r/&gt; with it, counts the stanzas it sent, and remembers the last h the server
/// acknowledged — at the end every sent stanza must be acknowledged. The reader task calls
/// <see cref="HandleAsync"/>; any thread may call <see cref="Outgoing"/>.
/// </summary>
public sealed class SmacksAckCounter
{
    private const string Sm3 = "urn:xmpp:sm:3";
    private long _handled;
    private long _sent;
    private long _serverAcked;
    private int _acksAnswered;
    private int _acksReceived;

    private SmacksAckCounter()
    {
    }

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>The last h the server sent in &lt;a/&gt;.</summary>
    public long ServerAcked => Interlocked.Read(ref _serverAcked);

    public int AcksAnswered => Volatile.Read(ref _acksAnswered);

    public int AcksReceived => Volatile.Read(ref _acksReceived);

    /// <summary>Enables resumable stream management on a bound session.</summary>
    public static async Task<SmacksAckCounter> EnableAsync(XmppSocketClient client)
    {
        await client.SendAsync($"<enable xmlns='{Sm3}' resume='true'/>");
        var answer = await client.WaitForAsync(e => e.Name.NamespaceName == Sm3, "<enabled/>", TimeSpan.FromSeconds(60));
        if (answer.Name.LocalName != "enabled") throw new XunitException($"{client.Jid}: enable failed: {answer}");
        return new SmacksAckCounter();
    }

    /// <summary>Counts a stanza about to be sent; appends an &lt;r/&gt; when asked to.</summary>
    public string Outgoing(string stanza, bool requestAck)
    {
        Interlocked.Increment(ref _sent);
        return requestAck ? stanza + $"<r xmlns='{Sm3}'/>" : stanza;
    }

    public static string Request => $"<r xmlns='{Sm3}'/>";

    /// <summary>Counts a received stanza, or handles &lt;r/&gt; / &lt;a/&gt;; true when the element was one of those.</summary>
    public async Task<bool> HandleAsync(XmppSocketClient client, XElement element)
    {
        if (element.Name.NamespaceName != Sm3)
        {
            if (element.Name.Namespace == XmppSocketClient.Client) Interlocked.Increment(ref _handled);
            return false;
        }

        switch (element.Name.LocalName)
        {
            case "r":
                await client.SendAsync($"<a xmlns='{Sm3}' h='{(uint)Interlocked.Read(ref _handled)}'/>");
                Interlocked.Increment(ref _acksAnswered);
                return true;
            case "a":
                Interlocked.Exchange(ref _serverAcked, long.Parse((string?)element.Attribute("h") ?? "-1", CultureInfo.InvariantCulture));
                Interlocked.Increment(ref _acksReceived);
                return true;
            default:
                return false;
        }
    }
}
