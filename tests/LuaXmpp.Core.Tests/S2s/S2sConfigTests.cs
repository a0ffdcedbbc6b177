using System.Net;
using LuaXmpp.Configuration;
using LuaXmpp.S2s;
using Xunit;

namespace LuaXmpp.Tests.S2s;

/// <summary>The s2s pieces that need no network: static resolver records, resolution of
/// localhost names, dialback keys, the secure-auth policy.</summary>
public sealed class S2sConfigTests
{
    private static ServerConfig Config(params (string Key, object? Value)[] options) =>
        ServerConfig.Create(options.ToDictionary(o => o.Key, o => o.Value), "a.localhost");

    private static ConfigTable Unbound(object? zones, object? data)
    {
        var options = new ConfigTable();
        options.Hash["local-zone:"] = zones;
        options.Hash["local-data:"] = data;
        var unbound = new ConfigTable();
        unbound.Hash["options"] = options;
        return unbound;
    }

    private static ConfigTable List(params string[] items)
    {
        var t = new ConfigTable();
        t.Array.AddRange(items);
        return t;
    }

    [Fact]
    public void A_single_srv_record_is_read_as_Prosody_hands_it_to_unbound()
    {
        var records = StaticDnsRecords.From(Config(("unbound", Unbound(
            "_xmpp-server._tcp.b.localhost. static", "_xmpp-server._tcp.b.localhost. 60 IN SRV 0 0 55290 b.localhost."))));
        var srv = Assert.Single(records.Srv("_xmpp-server._tcp.b.localhost")!);
        Assert.Equal(new SrvTarget(0, 0, 55290, "b.localhost"), srv);
    }

    [Fact]
    public void Lists_of_records_and_A_records_are_read_and_a_static_zone_answers_nothing_else()
    {
        var records = StaticDnsRecords.From(Config(("unbound", Unbound(
            List("_xmpp-server._tcp.b.localhost. static", "_xmpp-server._tcp.c.localhost. static"),
            List("_xmpp-server._tcp.b.localhost. 60 IN SRV 5 0 1111 b.localhost.", "_xmpp-server._tcp.c.localhost. SRV 0 0 2222 host.c.localhost.",
                 "host.c.localhost. 60 IN A 127.0.0.2")))));
        Assert.Equal(1111, Assert.Single(records.Srv("_xmpp-server._tcp.b.localhost.")!).Port);
        Assert.Equal("host.c.localhost", Assert.Single(records.Srv("_xmpp-server._tcp.c.localhost")!).Host);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), Assert.Single(records.Addresses("host.c.localhost")!));
        Assert.Empty(records.Srv("other._xmpp-server._tcp.b.localhost")!);
        Assert.Null(records.Srv("_xmpp-server._tcp.example.org"));
    }

    [Fact]
    public async Task Localhost_names_resolve_to_loopback_without_dns_and_honour_use_ipv6()
    {
        var config = Config(("use_ipv6", false), ("unbound", Unbound("_xmpp-server._tcp.b.localhost. static",
            "_xmpp-server._tcp.b.localhost. 60 IN SRV 0 0 55290 b.localhost.")));
        var resolver = new S2sResolver(StaticDnsRecords.From(config), S2sSettings.From(config));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var b = Assert.Single(await resolver.ResolveAsync("b.localhost", timeout.Token));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 55290), b.EndPoint);
        Assert.False(b.DirectTls);
        // No SRV record: the domain itself on 5269 (RFC 6120 §3.2.2).
        var c = Assert.Single(await resolver.ResolveAsync("c.localhost", timeout.Token));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, S2sResolver.DefaultPort), c.EndPoint);
    }

    [Fact]
    public void A_dialback_key_verifies_only_for_the_same_domains_stream_and_secret()
    {
        var key = DialbackKey.Generate("s3cret", "b.localhost", "a.localhost", "stream1");
        Assert.Equal(64, key.Length);
        Assert.True(DialbackKey.Matches("s3cret", "b.localhost", "a.localhost", "stream1", key.ToUpperInvariant()));
        Assert.False(DialbackKey.Matches("s3cret", "b.localhost", "a.localhost", "stream2", key));
        Assert.False(DialbackKey.Matches("s3cret", "a.localhost", "b.localhost", "stream1", key));
        Assert.False(DialbackKey.Matches("other", "b.localhost", "a.localhost", "stream1", key));
    }

    [Fact]
    public void Secure_auth_applies_per_domain_as_in_Prosody()
    {
        var strict = S2sSettings.From(Config(("s2s_secure_auth", true), ("s2s_insecure_domains", List("old.example"))));
        Assert.True(strict.RequiresCertificate("new.example"));
        Assert.False(strict.RequiresCertificate("old.example"));
        var lax = S2sSettings.From(Config(("s2s_secure_domains", List("bank.example"))));
        Assert.True(lax.RequiresCertificate("bank.example"));
        Assert.False(lax.RequiresCertificate("blog.example"));
    }
}
