using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// <c>ssl.x509</c>, LuaSec's certificate objects (what mod_client_certs and util.x509 call),
/// over .NET's X509Certificate2. TLS itself is native here, so this is only the certificate half
/// of LuaSec: <c>load(pem)</c> and the methods digest, pem, notbefore, notafter, validat, serial,
/// subject, issuer, extensions, getsignaturename, pubkey, issued, setencode, with LuaSec 1.2's
/// return shapes. The native parses a certificate once into a plain table; the shim wraps it.
/// </summary>
internal sealed class X509Library : INativeLibrary
{
    private static readonly LuaFunction ParseFn = Parse;
    private static readonly LuaFunction IssuedFn = Issued;

    public string Name => "ssl.x509";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("parse", ParseFn), new("issued", IssuedFn)];

    public string Shim => X509Shim.Source;

    /// <summary>parse(data, is_der) -> fields table, or nil, message when data holds no certificate.</summary>
    private static int Parse(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var data = NativeBoundary.OptBytes(lua, 1) ?? [];
        var der = lua.ToBoolean(2) ? data : PemBody(data);
        if (der is null) return NativeBoundary.Fail(lua, "no certificate found");
        using var cert = X509CertificateLoader.LoadCertificate(der);
        PushFields(lua, cert);
        return 1;
    });

    /// <summary>issued(der, ca_der...) -> true, or false, reason: does a chain from the given CAs vouch for der.</summary>
    private static int Issued(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        using var cert = X509CertificateLoader.LoadCertificate(lua.ToBuffer(1, false));
        var authorities = new X509Certificate2Collection();
        try
        {
            for (int i = 2; i <= lua.GetTop(); i++) authorities.Add(X509CertificateLoader.LoadCertificate(lua.ToBuffer(i, false)));
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // LuaSec asks whether the CAs signed it; the dates are validat's business.
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid;
            if (chain.Build(cert))
            {
                lua.PushBoolean(true);
                return 1;
            }
            lua.PushBoolean(false);
            var status = chain.ChainStatus.FirstOrDefault();
            NativeBoundary.PushUtf8(lua, string.IsNullOrEmpty(status.StatusInformation) ? status.Status.ToString() : status.StatusInformation.Trim());
            return 2;
        }
        finally
        {
            foreach (var authority in authorities) authority.Dispose();
        }
    });

    /// <summary>The DER of the first CERTIFICATE block, text around it ignored (as OpenSSL's PEM reader does).</summary>
    private static byte[]? PemBody(byte[] data)
    {
        var text = Encoding.ASCII.GetString(data).AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            if (text[fields.Label].SequenceEqual("CERTIFICATE")) return Convert.FromBase64String(text[fields.Base64Data].ToString());
            text = text[fields.Location.End..];
        }
        return null;
    }

    private static void PushFields(Lua lua, X509Certificate2 cert)
    {
        lua.CreateTable(0, 12);
        lua.PushBuffer(cert.RawData);
        lua.SetField(-2, "der");
        NativeBoundary.SetString(lua, "pem", Pem("CERTIFICATE", cert.RawData));
        NativeBoundary.SetString(lua, "notbefore", OpenSslTime(cert.NotBefore.ToUniversalTime()));
        NativeBoundary.SetString(lua, "notafter", OpenSslTime(cert.NotAfter.ToUniversalTime()));
        NativeBoundary.SetInteger(lua, "notbefore_t", new DateTimeOffset(cert.NotBefore.ToUniversalTime()).ToUnixTimeSeconds());
        NativeBoundary.SetInteger(lua, "notafter_t", new DateTimeOffset(cert.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        NativeBoundary.SetString(lua, "serial", Serial(cert.GetSerialNumber()));
        NativeBoundary.SetString(lua, "signature", SignatureName(cert.SignatureAlgorithm.Value ?? ""));
        PushName(lua, X509Names.ReadName(cert.SubjectName.RawData));
        lua.SetField(-2, "subject");
        PushName(lua, X509Names.ReadName(cert.IssuerName.RawData));
        lua.SetField(-2, "issuer");
        PushAltNames(lua, cert);
        lua.SetField(-2, "extensions");
        PushPublicKey(lua, cert);
        lua.SetField(-2, "pubkey");
    }

    private static void PushName(Lua lua, List<X509NameEntry> entries)
    {
        lua.CreateTable(entries.Count, 0);
        for (int i = 0; i < entries.Count; i++)
        {
            lua.CreateTable(0, 3);
            NativeBoundary.SetString(lua, "oid", entries[i].Oid);
            NativeBoundary.SetString(lua, "name", entries[i].Name);
            NativeBoundary.SetString(lua, "value", entries[i].Value);
            lua.RawSetInteger(-2, i + 1);
        }
    }

    // extensions(): only the alternative names, as LuaSec reports them.
    private static void PushAltNames(Lua lua, X509Certificate2 cert)
    {
        lua.NewTable();
        foreach (var extension in cert.Extensions)
        {
            var oid = extension.Oid?.Value;
            if (oid is not (X509Names.SubjectAltName or X509Names.IssuerAltName)) continue;
            lua.NewTable();
            NativeBoundary.SetString(lua, "name", X509Names.LongName(oid));
            foreach (var (kind, values) in X509Names.ReadGeneralNames(extension.RawData))
            {
                lua.CreateTable(values.Count, 1);
                for (int i = 0; i < values.Count; i++)
                {
                    NativeBoundary.PushUtf8(lua, values[i]);
                    lua.RawSetInteger(-2, i + 1);
                }
                if (kind.Contains('.', StringComparison.Ordinal)) NativeBoundary.SetString(lua, "name", X509Names.LongName(kind));
                lua.SetField(-2, kind);
            }
            lua.SetField(-2, oid);
        }
    }

    // pubkey(): the SubjectPublicKeyInfo as PEM, the key type, its size in bits.
    private static void PushPublicKey(Lua lua, X509Certificate2 cert)
    {
        var (type, bits) = cert.PublicKey.Oid.Value switch
        {
            "1.2.840.113549.1.1.1" => ("RSA", cert.GetRSAPublicKey()?.KeySize ?? 0),
            "1.2.840.10045.2.1" => ("EC", cert.GetECDsaPublicKey()?.KeySize ?? 0),
            "1.2.840.10040.4.1" => ("DSA", cert.GetDSAPublicKey()?.KeySize ?? 0),
            // LuaSec names only these three; EVP_PKEY_bits of an Ed25519 key is 256, of Ed448 456.
            "1.3.101.112" => ("Unknown", 256),
            "1.3.101.113" => ("Unknown", 456),
            _ => ("Unknown", 0),
        };
        lua.CreateTable(3, 0);
        NativeBoundary.PushUtf8(lua, Pem("PUBLIC KEY", cert.PublicKey.ExportSubjectPublicKeyInfo()));
        lua.RawSetInteger(-2, 1);
        NativeBoundary.PushUtf8(lua, type);
        lua.RawSetInteger(-2, 2);
        lua.PushInteger(bits);
        lua.RawSetInteger(-2, 3);
    }

    /// <summary>PEM as OpenSSL writes it: 64-column lines, a newline after the END line.</summary>
    private static string Pem(string label, byte[] der) => new string(PemEncoding.Write(label, der)) + "\n";

    /// <summary>ASN1_TIME_print's form, which LuaSec returns: "Dec  7 12:17:50 2026 GMT".</summary>
    private static string OpenSslTime(DateTime utc) =>
        string.Create(CultureInfo.InvariantCulture, $"{utc:MMM} {utc.Day,2} {utc:HH:mm:ss yyyy} GMT");

    /// <summary>BN_bn2hex of the serial: upper-case hex without leading zero bytes.</summary>
    private static string Serial(byte[] littleEndian)
    {
        var bytes = littleEndian.Reverse().SkipWhile(b => b == 0).ToArray();
        return bytes.Length == 0 ? "0" : Convert.ToHexString(bytes);
    }

    // OpenSSL's short names for signature algorithms (OBJ_nid2sn), which getsignaturename returns.
    private static string SignatureName(string oid) => oid switch
    {
        "1.2.840.113549.1.1.4" => "RSA-MD5",
        "1.2.840.113549.1.1.5" => "RSA-SHA1",
        "1.2.840.113549.1.1.11" => "RSA-SHA256",
        "1.2.840.113549.1.1.12" => "RSA-SHA384",
        "1.2.840.113549.1.1.13" => "RSA-SHA512",
        "1.2.840.113549.1.1.14" => "RSA-SHA224",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        _ => oid,
    };
}
