using System.Diagnostics;

namespace LuaXmpp.Tests.Libraries;

/// <summary>
/// Our <c>ssl.x509</c> against LuaSec itself (Debian's lua-sec, which the prosody package
/// depends on, run by lua5.4): the same dump of the same certificates must come out of both.
/// The certificates are made by the openssl CLI with every kind of subjectAltName LuaSec reports.
/// </summary>
public sealed class SslX509Tests : LuaTestState, IDisposable
{
    // Prints every method's result with sorted keys, so two implementations compare as text.
    private const string Dump = """
        local x509 = require "ssl.x509"
        local function show(v)
          if type(v) ~= "table" then return type(v) .. ":" .. tostring(v) end
          local keys = {}
          for k in pairs(v) do keys[#keys + 1] = k end
          table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
          local out = {}
          for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. show(v[k]) end
          return "{" .. table.concat(out, ",") .. "}"
        end
        local lines = {}
        local function add(label, ...) lines[#lines + 1] = label .. " " .. show({ n = select("#", ...), ... }) end
        local cert = x509.load(PEM)
        add("load", cert ~= nil)
        add("alias", require "ssl".loadcertificate(PEM) ~= nil)
        for _, alg in ipairs({ "sha1", "sha256", "sha512", "md5", "SHA256" }) do add("digest " .. alg, cert:digest(alg)) end
        add("digest default", cert:digest())
        add("pem", cert:pem() == PEM)
        add("dates", cert:notbefore(), cert:notafter())
        add("validat", cert:validat(os.time()), cert:validat(0), cert:validat(2^40))
        add("serial", cert:serial())
        add("subject", cert:subject())
        add("issuer", cert:issuer())
        add("extensions", cert:extensions())
        add("signature", cert:getsignaturename())
        add("pubkey", cert:pubkey())
        add("issued self", cert:issued(cert))
        add("setencode", cert:setencode("utf8"), cert:setencode("ai5"))
        add("tostring", (tostring(cert):gsub("0x%x+", "ADDR")))
        add("garbage", x509.load("not a certificate"))
        add("truncated", x509.load(PEM:sub(1, 200)))
        add("empty body", x509.load("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"))
        add("junk around", x509.load("junk\r\n" .. PEM:gsub("\n", "\r\n") .. "more junk") ~= nil)
        add("no string", (pcall(x509.load, nil)))
        add("validat word", (pcall(cert.validat, cert, "now")))
        return table.concat(lines, "\n")
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("luaxmpp-x509-").FullName;

    [Theory]
    [InlineData("rsa:2048", "otherName:1.3.6.1.5.5.7.8.5;UTF8:alice@localhost,otherName:1.3.6.1.5.5.7.8.5;UTF8:bob@localhost,DNS:client.example,DNS:*.wild.example,email:alice@example.org,URI:xmpp:alice@localhost,IP:127.0.0.1,IP:::1,otherName:1.3.6.1.5.5.7.8.7;IA5:_xmpp-client.example,otherName:1.2.3.4;UTF8:other")]
    [InlineData("ec -pkeyopt ec_paramgen_curve:P-256", "DNS:only.example")]
    [InlineData("ed25519", "")]
    public void EveryMethod_GivesWhatLuaSecGives(string key, string subjectAltNames)
    {
        var pem = MakeCertificate(key, subjectAltNames);
        var luaSec = RunLuaSec(pem);

        State.PushString(pem);
        State.SetGlobal("PEM");
        var ours = Eval(Dump);

        Assert.Equal(luaSec, ours);
    }

    /// <summary>util.x509 on real certificate objects: ours over our ssl.x509 decides every identity
    /// as Prosody's util.x509 over LuaSec does (RFC 6125 §6.4 with RFC 6120 §13.7.1.2's xmppAddr and
    /// RFC 4985's SRVName), and finds the same identities.</summary>
    [Fact]
    public void VerifyIdentity_AndGetIdentities_DecideAsProsodysOverLuaSec()
    {
        var pem = MakeCertificate("rsa:2048", "otherName:1.3.6.1.5.5.7.8.5;UTF8:alice@localhost,otherName:1.3.6.1.5.5.7.8.5;UTF8:example,DNS:client.example,DNS:*.wild.example,otherName:1.3.6.1.5.5.7.8.7;IA5:_xmpp-server.srv.example");
        const string Identities = """
            local x509 = require "util.x509"
            local cert = require "ssl.x509".load(PEM)
            local out = {}
            for _, host in ipairs({ "client.example", "a.wild.example", "b.a.wild.example", "localhost", "alice@localhost", "example", "srv.example", "other.example" }) do
              for _, svc in ipairs({ "_xmpp-client", "_xmpp-server", "_other" }) do
                out[#out + 1] = host .. " " .. svc .. " " .. tostring(x509.verify_identity(host, svc, cert))
              end
            end
            local names = {}
            for name, svcs in pairs(x509.get_identities(cert)) do
              local list = {}
              for k in pairs(svcs) do list[#list + 1] = k end
              table.sort(list)
              names[#names + 1] = name .. "=" .. table.concat(list, ",")
            end
            table.sort(names)
            out[#out + 1] = table.concat(names, " ")
            return table.concat(out, "\n")
            """;
        var prosody = RunLuaSec(pem, "package.path = '/usr/lib/prosody/?.lua;' .. package.path\npackage.cpath = '/usr/lib/prosody/?.so;' .. package.cpath\n", Identities);

        State.PushString(pem);
        State.SetGlobal("PEM");
        Assert.Equal(prosody, Eval(Identities));
        Assert.Contains("srv.example _xmpp-server true", prosody);
    }

    [Fact]
    public void AChain_IsIssuedByItsAuthority_AndNotByAStranger()
    {
        var ca = MakeCertificate("rsa:2048", "", "ca");
        var stranger = MakeCertificate("rsa:2048", "", "stranger");
        Openssl($"req -new -newkey rsa:2048 -nodes -keyout {_dir}/leaf.key -subj /CN=leaf -out {_dir}/leaf.csr");
        var leaf = Openssl($"x509 -req -in {_dir}/leaf.csr -CA {_dir}/ca.pem -CAkey {_dir}/ca.key -days 2 -set_serial 7");
        foreach (var (name, pem) in new[] { ("CA", ca), ("STRANGER", stranger), ("LEAF", leaf) })
        {
            State.PushString(pem);
            State.SetGlobal(name);
        }
        Run("""
            local x509 = require "ssl.x509"
            local ca, stranger, leaf = x509.load(CA), x509.load(STRANGER), x509.load(LEAF)
            assert(leaf:issued(ca) == true)
            local ok, why = leaf:issued(stranger)
            assert(ok == false and type(why) == "string", tostring(why))
            assert(leaf:serial() == "07", leaf:serial())
            assert(leaf:issuer()[1].value == "ca" and leaf:subject()[1].value == "leaf")
            assert(next(leaf:extensions()) == nil)
            """);
    }

    private string MakeCertificate(string key, string subjectAltNames, string name = "cert")
    {
        var config = Path.Combine(_dir, name + ".cnf");
        File.WriteAllText(config,
            $"[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN={name}\nO=Example Org\nOU=Unit One\n[ext]\nbasicConstraints=CA:TRUE\n"
            + (subjectAltNames.Length > 0 ? "subjectAltName=" + subjectAltNames + "\n" : ""));
        return Openssl($"req -x509 -newkey {key} -nodes -keyout {_dir}/{name}.key -days 30 -config {config}",
            saveAs: Path.Combine(_dir, name + ".pem"));
    }

    private static string Openssl(string arguments, string? saveAs = null)
    {
        var output = RunProcess("openssl", arguments, null);
        if (saveAs is not null) File.WriteAllText(saveAs, output);
        return output;
    }

    private string RunLuaSec(string pem, string prelude = "", string code = Dump)
    {
        var script = Path.Combine(_dir, "dump.lua");
        File.WriteAllText(script, prelude + "PEM = io.read('a')\nio.write((load([==[" + code + "]==])()))\n");
        return RunProcess("lua5.4", script, pem);
    }

    private static string RunProcess(string file, string arguments, string? input)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input ?? "");
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), $"{file} did not finish");
        Assert.True(process.ExitCode == 0, $"{file} {arguments}: exit {process.ExitCode}: {stderr.Result}");
        return stdout;
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
