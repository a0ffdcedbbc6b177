using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Tests.Fixtures;
using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// One LuaXmpp and one Prosody 0.12.3 process with prosody-modules' mod_client_certs (it needs
/// LuaSec's <c>ssl.x509</c>: ours on LuaXmpp, Debian's lua-sec on Prosody). The packaged file
/// does not load on either server as it is: it registers its ad-hoc command with the permission
/// "user", which Prosody 0.12's adhoc library refuses ("renamed 'any'"; ProsodyModuleSurveyTests
/// lists it so). The copy here gets that one word changed, the fix an operator would make.
/// </summary>
public sealed class ClientCertsServers : ServerPair
{
    private readonly ProsodyPluginDirectory _plugins = WithPermissionFixed();

    protected override async Task<ServerProcess> PrepareAsync(ServerFlavor flavor)
    {
        var server = await ServerProcess.CreateAsync(null, config => config
            .Set("plugin_paths", ServerConfig.LuaList(_plugins.Path))
            .Set("modules_enabled", ServerConfig.LuaList("roster", "saslauth", "tls", "disco", "ping", "client_certs")), flavor);
        await server.RegisterAsync("alice", "pass-alice");
        await server.RegisterAsync("bob", "pass-bob");
        return server;
    }

    private static ProsodyPluginDirectory WithPermissionFixed()
    {
        var plugins = ProsodyPluginDirectory.With("mod_client_certs", "adhoc");
        var file = Path.Combine(plugins.Path, "mod_client_certs", "mod_client_certs.lua");
        var text = File.ReadAllText(file);
        const string Old = "adhoc_handler, \"user\");";
        if (!text.Contains(Old, StringComparison.Ordinal)) throw new XunitException("mod_client_certs no longer registers its command as 'user'");
        File.WriteAllText(file, text.Replace(Old, "adhoc_handler, \"any\");", StringComparison.Ordinal));
        return plugins;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _plugins.Dispose();
    }
}

/// <summary>
/// XEP-0257 through mod_client_certs with a slixmpp client (clients/prosody_client_certs.py):
/// a certificate naming the user in id-on-xmppAddr (RFC 6120 §13.7.1.4) is added, listed and
/// disabled; one naming someone else, one that is not X.509 and a request without a name get
/// the module's errors; another client is unaffected. Prosody 0.12.3 loads the module too but
/// cannot add any certificate on Lua 5.4: its util.x509.der2pem passes gsub a fractional count
/// ((#b64 - 1) / 64, never whole for base64), so the append raises and is never answered.
/// </summary>
public sealed class ClientCertsTests(ClientCertsServers servers) : IClassFixture<ClientCertsServers>
{
    [Theory]
    [InlineData("luaxmpp")]
    [InlineData("prosody")]
    public async Task Certificate_Added_Listed_Disabled_AndBadCertificatesRefused(string flavor)
    {
        var server = servers[flavor];
        var cert = Certificate(server.Jid("alice"));
        var result = await PythonClient.RunAsync(server, "prosody_client_certs.py",
            "--jid", server.Jid("alice"), "--password", "pass-alice",
            "--peer-jid", server.Jid("bob"), "--peer-password", "pass-bob",
            "--cert", cert, "--stranger-cert", Certificate(server.Jid("mallory")), "--step-timeout", "4");

        if (server.Flavor.IsProsody)
        {
            result.Check(r =>
            {
                Assert.True(r["feature"].GetBoolean());
                Assert.StartsWith("IqTimeout", r.String("error"));
                Assert.Contains("util/x509.lua:295: bad argument #3 to 'gsub' (number has no integer representation)", server.LogTail(100_000));
            });
            return;
        }
        result.Check(r =>
        {
            Assert.True(r.Ok);
            Assert.True(r["feature"].GetBoolean());
            Assert.Equal("result", r.String("append"));
            var listed = Assert.Single(r["listed"].EnumerateArray());
            Assert.Equal("laptop", listed.GetProperty("name").GetString());
            Assert.Equal(cert, listed.GetProperty("x509cert").GetString());

            Assert.Equal("cancel/bad-request", r.String("someone_elses"));
            Assert.Equal("modify/not-acceptable", r.String("not_x509"));
            Assert.Equal("modify/not-acceptable", r.String("not_base64"));
            Assert.Equal("cancel/bad-request", r.String("no_name"));
            Assert.Single(r["listed_after_bad_input"].EnumerateArray());

            Assert.Equal("result", r.String("disable"));
            Assert.Empty(r["listed_after_disable"].EnumerateArray());
            Assert.Equal("result", r.String("peer_ping"));
        });
    }
    /// <summary>A self-signed client certificate, base64 DER, whose subjectAltName holds
    /// <paramref name="jid"/> as id-on-xmppAddr and a dNSName.</summary>
    private static string Certificate(string jid)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + jid, key, HashAlgorithmName.SHA256);
        var names = new AsnWriter(AsnEncodingRules.DER);
        using (names.PushSequence())
        {
            var context0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            using (names.PushSequence(context0))
            {
                names.WriteObjectIdentifier("1.3.6.1.5.5.7.8.5");
                using (names.PushSequence(context0)) names.WriteCharacterString(UniversalTagNumber.UTF8String, jid);
            }
            names.WriteCharacterString(UniversalTagNumber.IA5String, "client.example", new Asn1Tag(TagClass.ContextSpecific, 2));
        }
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", names.Encode(), critical: false));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));
        return Convert.ToBase64String(cert.RawData);
    }
}
