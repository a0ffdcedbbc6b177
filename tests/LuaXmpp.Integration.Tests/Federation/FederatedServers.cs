using LuaXmpp.Tests.Fixtures;
using Xunit;

namespace LuaXmpp.Tests.Federation;

/// <summary>One domain of a test federation and the server binary that serves it.</summary>
public sealed record FederationMember(string Domain, ServerFlavor Flavor);

/// <summary>
/// Several real servers on loopback, one domain each, that find each other through static DNS
/// records in the resolver option both Prosody and LuaXmpp read
/// (<c>unbound = { options = { ["local-data:"] = ... } }</c>, SRV for _xmpp-server._tcp.DOMAIN
/// pointing at the peer's s2s port). Each server has one account, "user" with password "pw".
/// </summary>
/// <remarks>
/// Debian's lua-unbound 1.0.0 crashes Prosody when an unbound option is a list, so a Prosody
/// member gets single strings and so may have one peer; LuaXmpp members get lists.
/// </remarks>
public sealed class FederatedServers : IAsyncDisposable
{
    public const string User = "user";
    public const string Password = "pw";

    private readonly string _directory;

    private readonly IReadOnlyDictionary<string, int> _s2sPorts;

    private FederatedServers(string directory, IReadOnlyList<ServerProcess> servers, IReadOnlyList<FederationMember> members, IReadOnlyDictionary<string, int> s2sPorts)
    {
        _directory = directory;
        Servers = servers;
        Members = members;
        _s2sPorts = s2sPorts;
    }

    /// <summary>The s2s port a domain's server listens on.</summary>
    public int S2sPort(string domain) => _s2sPorts[domain];

    /// <summary>The default modules of a federation member (dialback as Prosody needs it listed).</summary>
    public static readonly string[] Modules =
        ["roster", "saslauth", "tls", "dialback", "disco", "ping", "register", "time", "version", "uptime", "offline"];

    public IReadOnlyList<ServerProcess> Servers { get; }

    public IReadOnlyList<FederationMember> Members { get; }

    public ServerProcess this[string domain] => Servers[Members.ToList().FindIndex(m => m.Domain == domain)];

    /// <param name="useCa">Certificates signed by a test CA every server trusts (else self-signed: dialback).</param>
    /// <param name="extraRecords">More "local-data:" SRV records for LuaXmpp members (domain → port).</param>
    /// <param name="configure">Further config for every member.</param>
    /// <param name="peersOf">The domains a member gets resolver records for (null: every other member).</param>
    /// <param name="selfSigned">Members whose certificate is self-signed even when the others' come from the CA.</param>
    public static async Task<FederatedServers> StartAsync(IReadOnlyList<FederationMember> members, bool useCa,
        IReadOnlyDictionary<string, int>? extraRecords = null, Action<FederationMember, ServerConfig>? configure = null,
        Func<FederationMember, string[]?>? peersOf = null, IReadOnlyDictionary<string, int>? recordPorts = null,
        IReadOnlyDictionary<string, string>? plugins = null, IReadOnlyCollection<string>? directTls = null,
        IReadOnlyCollection<string>? selfSigned = null)
    {
        var directory = Directory.CreateTempSubdirectory("luaxmpp-federation-").FullName;
        var ca = useCa ? await FederationCertificates.CreateCaAsync(directory) : null;
        var s2sPorts = FreePorts.Take(members.Count * 2);
        var ports = members.Select((m, i) => (m.Domain, Port: s2sPorts[i])).ToDictionary(p => p.Domain, p => p.Port);
        var servers = new List<ServerProcess>();
        try
        {
            for (int i = 0; i < members.Count; i++)
            {
                var member = members[i];
                var known = peersOf?.Invoke(member);
                var peers = ports.Where(p => p.Key != member.Domain && (known is null || known.Contains(p.Key)))
                    .Select(p => KeyValuePair.Create(p.Key, recordPorts?.GetValueOrDefault(p.Key) is > 0 and var port ? port : p.Value)).ToList();
                // XEP-0368: a LuaXmpp member finds a direct-TLS peer only through _xmpps-server._tcp.
                var direct = member.Flavor.IsProsody ? [] : peers.Where(p => directTls?.Contains(p.Key) == true)
                    .Select(p => KeyValuePair.Create(p.Key, DirectTlsPort(s2sPorts, members, p.Key))).ToList();
                peers.RemoveAll(p => direct.Any(d => d.Key == p.Key));
                if (!member.Flavor.IsProsody && extraRecords is not null) peers.AddRange(extraRecords);
                var server = await ServerProcess.CreateAsync(null, config =>
                {
                    config.VirtualHosts[0] = member.Domain;
                    config.Set("s2s_ports", $"{{ {s2sPorts[i]} }}")
                        .Set("s2s_interfaces", ServerConfig.LuaList("127.0.0.1"))
                        .Set("use_ipv6", "false")
                        .Set("unbound", Unbound(peers, direct, member.Flavor.IsProsody))
                        .Set("modules_enabled", ServerConfig.LuaList(Modules));
                    if (directTls?.Contains(member.Domain) == true) config.Set("s2s_direct_tls_ports", $"{{ {s2sPorts[members.Count + i]} }}");
                    configure?.Invoke(member, config);
                }, member.Flavor);
                servers.Add(server);
                var certs = Path.Combine(server.Directory, "certs");
                await FederationCertificates.CreateLeafAsync(certs, member.Domain, selfSigned?.Contains(member.Domain) == true ? null : ca);
                server.Config.Set("certificates", ServerConfig.Lua(certs));
                if (ca is not null) server.Config.Set("ssl", $"{{ cafile = {ServerConfig.Lua(ca)} }}");
                if (plugins is not null && !member.Flavor.IsProsody)
                {
                    var pluginDirectory = Directory.CreateDirectory(Path.Combine(server.Directory, "plugins")).FullName;
                    foreach (var (name, source) in plugins) await File.WriteAllTextAsync(Path.Combine(pluginDirectory, $"mod_{name}.lua"), source);
                    server.Config.Set("plugin_paths", ServerConfig.LuaList(pluginDirectory));
                }
                await server.WriteConfigAsync();
                await server.RegisterAsync(User, Password);
            }
            foreach (var server in servers) await server.StartAsync();
            return new FederatedServers(directory, servers, members, ports);
        }
        catch
        {
            foreach (var server in servers) await server.DisposeAsync();
            throw;
        }
    }

    private static int DirectTlsPort(int[] ports, IReadOnlyList<FederationMember> members, string domain) =>
        ports[members.Count + members.ToList().FindIndex(m => m.Domain == domain)];

    private static string Unbound(IEnumerable<KeyValuePair<string, int>> peers, IEnumerable<KeyValuePair<string, int>> directTlsPeers, bool singleStrings)
    {
        var records = peers.Select(p => ("_xmpp-server", p.Key, p.Value)).Concat(directTlsPeers.Select(p => ("_xmpps-server", p.Key, p.Value))).ToList();
        var zones = records.Select(r => $"{r.Item1}._tcp.{r.Item2}. static").ToArray();
        var data = records.Select(r => $"{r.Item1}._tcp.{r.Item2}. 60 IN SRV 0 0 {r.Item3} {r.Item2}.").ToArray();
        if (singleStrings && zones.Length > 1) throw new ArgumentException("a Prosody member can have one peer (lua-unbound takes no lists)");
        string Value(string[] items) => singleStrings ? ServerConfig.Lua(items.Single()) : ServerConfig.LuaList(items);
        return $"{{ options = {{ [\"local-zone:\"] = {Value(zones)}; [\"local-data:\"] = {Value(data)} }} }}";
    }

    public string Jid(string domain) => $"{User}@{domain}";

    /// <summary>federation.py with A on <paramref name="from"/>'s server and B on <paramref name="to"/>'s.</summary>
    public Task<ClientResult> RunAsync(string from, string to, params string[] arguments) =>
        PythonClient.RunAsync(this[from], "federation.py",
        [
            "--port2", this[to].C2sPort.ToString(), "--jid1", Jid(from), "--password1", Password,
            "--jid2", Jid(to), "--password2", Password, .. arguments,
        ]);

    public async ValueTask DisposeAsync()
    {
        foreach (var server in Servers) await server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A class fixture: one set of federated servers shared by a test class's cases.</summary>
public abstract class FederationFixture : IAsyncLifetime
{
    public FederatedServers Servers { get; private set; } = null!;

    protected abstract Task<FederatedServers> StartAsync();

    public virtual async Task InitializeAsync() => Servers = await StartAsync();

    public virtual async Task DisposeAsync()
    {
        if (Servers is not null) await Servers.DisposeAsync();
    }
}
