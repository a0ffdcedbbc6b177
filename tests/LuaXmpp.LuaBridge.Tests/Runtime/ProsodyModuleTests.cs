using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// Prosody 0.12's own module files, loaded unmodified from a copy of /usr/lib/prosody/modules.
/// The iq is fired as mod_iq's fan-out fires it for a bound session (iq-get/host/NS:NAME with
/// origin and stanza), and the reply must reach the session's connection.
/// </summary>
[Collection("LuaRuntime")]
public sealed class ProsodyModuleTests : IDisposable
{
    private const string ProsodyModules = "/usr/lib/prosody/modules";

    private readonly List<string> _dirs = new();

    public void Dispose()
    {
        foreach (var dir in _dirs) Directory.Delete(dir, recursive: true);
    }

    private string CopyModules(params string[] names)
    {
        var dir = Path.Combine(Path.GetTempPath(), "luaxmpp-prosody-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        _dirs.Add(dir);
        foreach (var name in names)
        {
            var source = Path.Combine(ProsodyModules, name);
            if (Directory.Exists(source))
            {
                var target = Path.Combine(dir, name);
                Directory.CreateDirectory(target);
                foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
            }
            else File.Copy(source, Path.Combine(dir, name));
        }
        return dir;
    }

    private static async Task<XmlElement> AskAsync(RuntimeHarness h, ClientSession session, RecordingConnection connection, string ns, string name)
    {
        var iq = RuntimeHarness.Iq("get", "q-" + name, RuntimeHarness.Host, name, ns);
        iq.SetAttribute("from", session.FullJid!.ToString());
        var result = await h.Fire($"iq-get/host/{ns}:{name}", new EventData(session, iq));
        Assert.Equal(true, result);
        Assert.True(connection.Sent.TryDequeue(out var reply), "no reply sent");
        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Equal("q-" + name, reply.GetAttribute("id"));
        Assert.Equal(session.FullJid!.ToString(), reply.GetAttribute("to"));
        return reply;
    }

    [Fact]
    public async Task ProsodyModules_Ping_AnswersIq()
    {
        await using var h = RuntimeHarness.Create(extraPaths: CopyModules("mod_ping.lua"));
        Assert.Null(await h.Load("ping"));
        var (session, connection) = await h.BindAsync("pinger");
        var reply = await AskAsync(h, session, connection, "urn:xmpp:ping", "ping");
        Assert.Empty(reply.Children);
        Assert.Contains("urn:xmpp:ping", await h.On(() => h.HostContext.Items.Get("feature")));
    }

    [Fact]
    public async Task ProsodyModules_Time_AnswersIq()
    {
        await using var h = RuntimeHarness.Create(extraPaths: CopyModules("mod_time.lua"));
        Assert.Null(await h.Load("time"));
        var (session, connection) = await h.BindAsync("clock");
        var reply = await AskAsync(h, session, connection, "urn:xmpp:time", "time");
        var time = reply.Element("time", "urn:xmpp:time")!;
        Assert.Equal("+00:00", time.ChildText("tzo", "urn:xmpp:time"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", time.ChildText("utc", "urn:xmpp:time"));
    }

    [Fact]
    public async Task ProsodyModules_Version_AnswersIq()
    {
        await using var h = RuntimeHarness.Create(extraPaths: CopyModules("mod_version.lua"));
        Assert.Null(await h.Load("version"));
        var (session, connection) = await h.BindAsync("curious");
        var reply = await AskAsync(h, session, connection, "jabber:iq:version", "query");
        var query = reply.Element("query", "jabber:iq:version")!;
        Assert.Equal("Prosody", query.ChildText("name", "jabber:iq:version"));
        Assert.Equal(h.Server.Version, query.ChildText("version", "jabber:iq:version"));
        Assert.False(string.IsNullOrWhiteSpace(query.ChildText("os", "jabber:iq:version")));
    }

    [Fact]
    public async Task ProsodyModules_Uptime_AnswersIq_AndProvidesAdhocCommand()
    {
        await using var h = RuntimeHarness.Create(extraPaths: CopyModules("mod_uptime.lua", "adhoc"));
        Assert.Null(await h.Load("uptime"));
        Assert.True(await h.On(() => h.Server.Modules.IsLoaded(RuntimeHarness.Host, "adhoc")));
        var (session, connection) = await h.BindAsync("waiter");
        var reply = await AskAsync(h, session, connection, "jabber:iq:last", "query");
        var seconds = reply.Element("query", "jabber:iq:last")!.GetAttribute("seconds");
        Assert.True(long.TryParse(seconds, out var s) && s >= 0, $"seconds='{seconds}'");
        Assert.Single(await h.On(() => h.HostContext.Items.Get("adhoc-provider")));
    }
}
