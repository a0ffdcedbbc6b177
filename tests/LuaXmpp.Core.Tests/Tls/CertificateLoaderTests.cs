using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Configuration;
using LuaXmpp.Tls;

namespace LuaXmpp.Tests.Tls;

public sealed class CertificateLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "luaxmpp-tls-" + Guid.NewGuid().ToString("N"));

    public CertificateLoaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ServerConfig Config(Dictionary<string, object?>? global = null, params HostConfig[] hosts) =>
        new(null, global ?? new Dictionary<string, object?>(), hosts);

    private static HostConfig Host(string name, params (string Key, object? Value)[] options) =>
        new(name, HostKind.VirtualHost, null, options.ToDictionary(o => o.Key, o => o.Value));

    private static ConfigTable Ssl(string certificate, string key)
    {
        var t = new ConfigTable();
        t.Hash["certificate"] = certificate;
        t.Hash["key"] = key;
        return t;
    }

    [Fact]
    public void SelfSigned_Create_CoversHostAndSubdomainsForServerAuth()
    {
        using var cert = SelfSignedCertificate.Create("example.com", TimeSpan.FromDays(30));

        Assert.True(cert.HasPrivateKey);
        Assert.Equal("CN=example.com", cert.Subject);
        var names = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames();
        Assert.Equal(["example.com", "*.example.com"], names);
        var usages = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages;
        Assert.Contains(usages.Cast<System.Security.Cryptography.Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        Assert.True(cert.NotAfter > DateTime.Now.AddDays(29));
    }

    [Fact]
    public void SelfSigned_WriteTo_WritesPemFilesWithPrivateKeyFile()
    {
        using var cert = SelfSignedCertificate.Create("example.com", TimeSpan.FromDays(1));

        var (certPath, keyPath) = SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs"), "example.com", cert);

        Assert.Equal(Path.Combine(_dir, "certs", "example.com.crt"), certPath);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(certPath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
    }

    [Fact]
    public void Load_FromCertificatesDirectory_RoundTripsCreatedCertificate()
    {
        using var cert = SelfSignedCertificate.Create("example.com", TimeSpan.FromDays(1));
        SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs"), "example.com", cert);

        using var loaded = CertificateLoader.Load(Config(null, Host("example.com")), "example.com", _dir);

        Assert.NotNull(loaded);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(cert.Thumbprint, loaded.Thumbprint);
    }

    [Fact]
    public void Load_SslOption_ResolvesPathsRelativeToConfigDirectory()
    {
        using var cert = SelfSignedCertificate.Create("example.com", TimeSpan.FromDays(1));
        SelfSignedCertificate.WriteTo(Path.Combine(_dir, "elsewhere"), "example.com", cert);
        var config = Config(null, Host("example.com", ("ssl", Ssl("elsewhere/example.com.crt", "elsewhere/example.com.key"))));

        var files = CertificateLoader.Find(config, "example.com", _dir);
        using var loaded = CertificateLoader.Load(config, "example.com", _dir);

        Assert.Equal(Path.Combine(_dir, "elsewhere", "example.com.crt"), files?.CertificatePath);
        Assert.Equal(cert.Thumbprint, loaded?.Thumbprint);
    }

    [Fact]
    public void Find_FullchainLayoutInConfiguredDirectory_IsFound()
    {
        using var cert = SelfSignedCertificate.Create("other.example", TimeSpan.FromDays(1));
        var (certPath, keyPath) = SelfSignedCertificate.WriteTo(Path.Combine(_dir, "tls"), "tmp", cert);
        // Named for example.org although it is for other.example: only the file-name search can find it.
        Directory.CreateDirectory(Path.Combine(_dir, "tls", "example.org"));
        File.Move(certPath, Path.Combine(_dir, "tls", "example.org", "fullchain.pem"));
        File.Move(keyPath, Path.Combine(_dir, "tls", "example.org", "privkey.pem"));
        var config = Config(new() { ["certificates"] = "tls" }, Host("example.org"));

        var files = CertificateLoader.Find(config, "example.org", _dir);

        Assert.Equal(Path.Combine(_dir, "tls", "example.org", "fullchain.pem"), files?.CertificatePath);
        Assert.Equal(Path.Combine(_dir, "tls", "example.org", "privkey.pem"), files?.KeyPath);
    }

    [Fact]
    public void Find_IndexedByCertificateNames_FindsCertificateForSubdomain()
    {
        using var cert = SelfSignedCertificate.Create("example.net", TimeSpan.FromDays(1));
        var (certPath, keyPath) = SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs", "live", "mysite"), "tmp", cert);
        var fullchain = Path.Combine(_dir, "certs", "live", "mysite", "fullchain.pem");
        File.Move(certPath, fullchain);
        File.Move(keyPath, Path.Combine(_dir, "certs", "live", "mysite", "privkey.pem"));

        var files = CertificateLoader.Find(Config(null, Host("conference.example.net")), "conference.example.net", _dir);

        Assert.Equal(fullchain, files?.CertificatePath);
    }

    [Fact]
    public void Find_ParentDomainFile_IsUsedForSubdomain()
    {
        using var cert = SelfSignedCertificate.Create("parent.example", TimeSpan.FromDays(1));
        var (certPath, _) = SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs"), "parent.example", cert);

        var files = CertificateLoader.Find(Config(null, Host("a.b.parent.example")), "a.b.parent.example", _dir);

        Assert.Equal(certPath, files?.CertificatePath);
    }

    [Fact]
    public void Load_NoCertificate_ReturnsNull()
    {
        Assert.Null(CertificateLoader.Load(Config(null, Host("example.com")), "example.com", _dir));
    }

    [Fact]
    public async Task Load_LoadedCertificate_CompletesTlsHandshakeOverLoopback()
    {
        using (var created = SelfSignedCertificate.Create("tls.example", TimeSpan.FromDays(1)))
        {
            SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs"), "tls.example", created);
        }
        using var cert = CertificateLoader.Load(Config(null, Host("tls.example")), "tls.example", _dir);
        Assert.NotNull(cert);
        // Guards against a hung handshake only; the test asserts on outcomes, not timing.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverTask = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync(cancel.Token);
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = cert }, cancel.Token);
            var buffer = new byte[4];
            await tls.ReadExactlyAsync(buffer, cancel.Token);
            await tls.WriteAsync(buffer, cancel.Token);
            return tls.SslProtocol;
        });

        string? seenSubject = null;
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
        await using var clientTls = new SslStream(client.GetStream());
        await clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "tls.example",
            RemoteCertificateValidationCallback = (_, presented, _, errors) =>
            {
                seenSubject = presented?.Subject;
                // Self-signed: the only acceptable problem is the untrusted chain.
                return presented?.Subject == "CN=tls.example" && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == 0;
            },
        }, cancel.Token);
        await clientTls.WriteAsync("ping"u8.ToArray(), cancel.Token);
        var echo = new byte[4];
        await clientTls.ReadExactlyAsync(echo, cancel.Token);

        Assert.Equal("CN=tls.example", seenSubject);
        Assert.Equal("ping"u8.ToArray(), echo);
        Assert.NotEqual(SslProtocols.None, await serverTask);
    }

    [Fact]
    public void LoadContext_LoadedCertificate_HasTargetCertificate()
    {
        using (var created = SelfSignedCertificate.Create("ctx.example", TimeSpan.FromDays(1)))
        {
            SelfSignedCertificate.WriteTo(Path.Combine(_dir, "certs"), "ctx.example", created);
        }

        var context = CertificateLoader.LoadContext(Config(null, Host("ctx.example")), "ctx.example", _dir);

        Assert.NotNull(context);
        Assert.Equal("CN=ctx.example", context.TargetCertificate.Subject);
    }
}
